//! nom grammar (private). (Skeleton.)
