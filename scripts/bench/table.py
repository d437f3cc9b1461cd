#!/usr/bin/env python3
"""Turns scripts/bench/run.sh's results.txt into the Markdown tables of BENCHMARKS.md.

Usage: python3 scripts/bench/table.py results.txt
Each input line is `LABEL | rc=N load_before=L | key=value key=value ...`.
"""
import sys


def parse(path):
    rows = []
    for line in open(path):
        parts = [p.strip() for p in line.split("|", 2)]
        if len(parts) < 3:
            continue
        label, meta, kv = parts
        d = {}
        for tok in (meta + " " + kv).split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                d[k] = v.rstrip("%")
        d["label"] = label
        rows.append(d)
    return rows


def f(d, k, default="–"):
    return d.get(k, default)


def main():
    rows = parse(sys.argv[1])
    load = [r for r in rows if "established" in r]
    ceil = [r for r in rows if "mode" in r]
    print("### Servers under rtsp-load (UDP)\n")
    print("| run | est/K | pps | Mbit/s | loss % | late | early | fps min/mean | setup p50/p99 ms | server CPU % | CPU/session % | server RSS KiB | client CPU % | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in load:
        print(f"| {r['label']} | {f(r,'established')}/{f(r,'sessions')} | {f(r,'pps')} | {f(r,'mbps')} | {f(r,'loss')} | {f(r,'late')} | {f(r,'early')} "
              f"| {f(r,'fps_min')}/{f(r,'fps_mean')} | {f(r,'setup_p50_ms')}/{f(r,'setup_p99_ms')} | {f(r,'server_cpu')} "
              f"| {f(r,'server_cpu_per_session')} | {f(r,'server_rss_kib')} | {f(r,'client_cpu')} | {f(r,'load_before')} |")
    print("\n### Raw loopback ceiling (udp-ceiling)\n")
    print("| run | paced | sent pps | recv pps | Mbit/s | loss % | late | fps min/mean | sender CPU % | CPU/session % | receiver CPU % | syscalls/s | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in ceil:
        print(f"| {r['label']} | {f(r,'paced')} | {f(r,'sent_pps')} | {f(r,'recv_pps')} | {f(r,'mbps')} | {f(r,'loss')} | {f(r,'late')} "
              f"| {f(r,'fps_min')}/{f(r,'fps_mean')} | {f(r,'sender_cpu')} | {f(r,'sender_cpu_per_session')} | {f(r,'receiver_cpu')} "
              f"| {f(r,'syscalls_per_s')} | {f(r,'load_before')} |")
    # Ratios at equal session counts: CPU per session, ours vs ceiling (gso, sendmmsg) and gst.
    by = {r["label"]: r for r in rows}
    print("\n### Ratios (CPU per session; lower is better; ratio = ours / other)\n")
    print("| K | ours %/session | gso | ours/gso | sendmmsg | ours/sendmmsg | gst per-client | ours/gst | gst shared | ours/gst-shared |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ks = sorted({int(r["label"].split("k=")[1]) for r in rows if "k=" in r["label"]})

    def cps(label, key):
        r = by.get(label)
        if not r or key not in r:
            return None
        try:
            return float(r[key])
        except ValueError:
            return None

    for k in ks:
        ours = cps(f"ours k={k}", "server_cpu_per_session")
        if ours is None:
            continue
        cells = [f"{ours:.4f}"]
        for lab, key in ((f"ceiling gso k={k}", "sender_cpu_per_session"),
                         (f"ceiling sendmmsg k={k}", "sender_cpu_per_session"),
                         (f"gst shared=no k={k}", "server_cpu_per_session"),
                         (f"gst shared=yes k={k}", "server_cpu_per_session")):
            v = cps(lab, key)
            cells += ["–", "–"] if not v else [f"{v:.4f}", f"{ours / v:.2f}"]
        print(f"| {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
