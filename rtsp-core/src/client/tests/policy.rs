//! The playback policy.

use super::*;
