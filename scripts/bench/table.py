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


def us_per_pkt(r, cpu_key, pps_key):
    try:
        cpu, pps = float(r[cpu_key]), float(r[pps_key])
    except (KeyError, ValueError):
        return None
    return cpu * 1e4 / pps if pps > 0 else None


def fmt(v, spec=".2f"):
    return "–" if v is None else format(v, spec)


def main():
    rows = parse(sys.argv[1])
    setup = [r for r in rows if r["label"].startswith("setup ")]
    rows = [r for r in rows if not r["label"].startswith("setup ")]
    load = [r for r in rows if "established" in r]
    ceil = [r for r in rows if "mode" in r]
    print("### Servers under rtsp-load (UDP unless the label says tcp)\n")
    print("| run | est/K | pps | Mbit/s | loss % | late | early | fps min/mean | setup p50/p99 ms | server CPU % | CPU/session % | CPU µs/pkt | server RSS KiB | client CPU % | listen overflows | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in load:
        print(f"| {r['label']} | {f(r,'established')}/{f(r,'sessions')} | {f(r,'pps')} | {f(r,'mbps')} | {f(r,'loss')} | {f(r,'late')} | {f(r,'early')} "
              f"| {f(r,'fps_min')}/{f(r,'fps_mean')} | {f(r,'setup_p50_ms')}/{f(r,'setup_p99_ms')} | {f(r,'server_cpu')} "
              f"| {f(r,'server_cpu_per_session')} | {fmt(us_per_pkt(r,'server_cpu','pps'))} | {f(r,'server_rss_kib')} | {f(r,'client_cpu')} "
              f"| {f(r,'tcp_listen_overflows')} | {f(r,'load_before')} |")
    print("\n### Raw loopback ceiling (udp-ceiling)\n")
    print("| run | paced | sent pps | recv pps | Mbit/s | loss % | late | fps min/mean | sender CPU % | CPU/session % | CPU µs/pkt | receiver CPU % | syscalls/s | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in ceil:
        print(f"| {r['label']} | {f(r,'paced')} | {f(r,'sent_pps')} | {f(r,'recv_pps')} | {f(r,'mbps')} | {f(r,'loss')} | {f(r,'late')} "
              f"| {f(r,'fps_min')}/{f(r,'fps_mean')} | {f(r,'sender_cpu')} | {f(r,'sender_cpu_per_session')} | {fmt(us_per_pkt(r,'sender_cpu','sent_pps'))} | {f(r,'receiver_cpu')} "
              f"| {f(r,'syscalls_per_s')} | {f(r,'load_before')} |")
    # Ratios at equal session counts: CPU per session, ours vs ceiling (gso, sendmmsg) and gst.
    by = {r["label"]: r for r in rows}
    print("\n### Ratios: server CPU per packet delivered (µs/pkt; lower is better; ratio = ours / other)\n")
    print("| K | ours µs/pkt | ceiling gso | ours/gso | ceiling sendmmsg | ours/sendmmsg | gst per-client | ours/gst | gst shared | ours/gst-shared | ours pps / gso pps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    ks = sorted({int(r["label"].split("k=")[1]) for r in rows if "k=" in r["label"]})

    def upp(label):
        r = by.get(label)
        if not r:
            return None
        if "mode" in r:
            return us_per_pkt(r, "sender_cpu", "sent_pps")
        return us_per_pkt(r, "server_cpu", "pps")

    for k in ks:
        o = by.get(f"ours k={k}")
        ours = upp(f"ours k={k}")
        if ours is None:
            continue
        cells = [f"{ours:.2f}"]
        for lab in (f"ceiling gso k={k}", f"ceiling sendmmsg k={k}",
                    f"gst shared=no k={k}", f"gst shared=yes k={k}"):
            v = upp(lab)
            cells += ["–", "–"] if not v else [f"{v:.2f}", f"{ours / v:.2f}"]
        g = by.get(f"ceiling gso k={k}")
        try:
            cells.append(f"{float(o['pps']) / float(g['recv_pps']):.2f}")
        except (TypeError, KeyError, ValueError, ZeroDivisionError):
            cells.append("–")
        print(f"| {k} | " + " | ".join(cells) + " |")

    # Capacity: the most sessions our server kept on time, against the unpaced ceiling.
    ok = [r for r in load if r["label"].startswith("ours k=")
          and r.get("loss") not in (None, "") and float(r["loss"]) < 0.1
          and r.get("late") == "0" and r.get("established") == r.get("sessions")]
    best = max(ok, key=lambda r: float(r["pps"]), default=None)
    if best:
        print("\n### Capacity: the largest run our server kept on time (0 late, < 0.1 % loss)\n")
        print("| run | pps | vs unpaced ceiling | pps there | ratio | server CPU % |")
        print("|---|---|---|---|---|---|")
        for mode in ("gso", "sendmmsg", "sendto"):
            c = by.get(f"ceiling-max {mode} k=1000")
            if c:
                ratio = float(best["pps"]) / float(c["recv_pps"])
                print(f"| {best['label']} | {best['pps']} | {mode} | {c['recv_pps']} | {ratio:.2f} | {best['server_cpu']} |")

    print("\n### Memory: server RSS growth per session (against the same server at K=1)\n")
    print("| server | K | RSS KiB | (RSS_K − RSS_1) / (E_K − 1) KiB |")
    print("|---|---|---|---|")
    for prefix in ("ours", "gst shared=no", "gst shared=yes"):
        one = by.get(f"{prefix} k=1")
        for k in ks:
            r = by.get(f"{prefix} k={k}")
            if not r or k == 1 or not one:
                continue
            try:
                e = int(r["established"])
                per = (int(r["server_rss_kib"]) - int(one["server_rss_kib"])) / max(e - 1, 1)
                print(f"| {prefix} | {k} (E={e}) | {r['server_rss_kib']} | {per:.1f} |")
            except (KeyError, ValueError):
                pass

    if setup:
        setup_table(setup)


def setup_table(setup):
    """1000 connects at once: our server against the canned responder, run by turns."""
    print("\n### Setup latency: all sessions opened at once (ours and rtsp-ceiling by turns)\n")
    print("| run | est/K | setup p50 ms | setup p99 ms | setup max ms | load |")
    print("|---|---|---|---|---|---|")
    for r in setup:
        print(f"| {r['label']} | {f(r,'established')}/{f(r,'sessions')} | {f(r,'setup_p50_ms')} "
              f"| {f(r,'setup_p99_ms')} | {f(r,'setup_max_ms')} | {f(r,'load_before')} |")

    def med(who, key):
        v = sorted(float(r[key]) for r in setup if r["label"].startswith(f"setup {who} ") and key in r)
        return v[len(v) // 2] if v else None

    print("\n| median over the runs | ours | rtsp-ceiling | ours / ceiling |")
    print("|---|---|---|---|")
    for key in ("setup_p50_ms", "setup_p99_ms"):
        o, c = med("ours", key), med("ceiling", key)
        ratio = f"{o / c:.2f}" if o and c else "–"
        print(f"| {key} | {fmt(o, '.1f')} | {fmt(c, '.1f')} | {ratio} |")


if __name__ == "__main__":
    main()
