#!/usr/bin/env python3
"""Flap-loop memory benchmark: RSS per route with a full table held, and whether RSS grows
over many full-table flaps of one neighbor.

For each DUT named (default: bgpsieve, then BIRD as the same-run baseline):
stayrtr -> sink (sink-rs --live, counting what it holds) -> DUT (VRPs loaded), then for
--duration seconds, cycle:

  1. the blaster connects (retrying while the DUT is still Idle after the last drop) and sends
     the whole table; wait until the sink holds exactly the expected accepted set;
  2. after --settle s, sample the DUT's VmRSS and VmHWM ("full");
  3. stop the blaster by PID (SIGTERM: it closes its socket, no NOTIFICATION); wait until the
     sink holds nothing and the DUT's own count of routes from the blaster is 0;
  4. after --settle s, sample VmRSS again ("empty").

One JSON line per cycle goes to RUNDIR/cycles.jsonl (and a progress line per cycle to stderr);
the summary of every DUT to RUNDIR/summary.json, a table to stdout, and one TSV row per DUT
(plus one of ratios DUT/baseline) to results-flap.tsv. Every process started here is stopped
here, by PID, also on errors and signals. Only loopback addresses (see duts.py).
"""
import argparse, json, os, re, shutil, signal, subprocess, sys, time, urllib.request
from datetime import datetime, timezone
from statistics import median

import run
from run import tree, status_kb, cpu_s, stop, HERE
from duts import DUTS, BLASTER, BLASTER_AS, DUT_IP, DUT_PORT, SINK_IP, SINK_PORT, SINK_AS, RTR_IP, RTR_PORT

# Fast restarts of the blaster's session after each drop.
# bgpsieve: the first restart waits idle_hold (0 s), every later one the cap, idle_hold_max
# (1 s): a session that fails after the OPEN exchange doubles the wait, with a 1 s minimum step.
# BIRD: "error wait time" is its restart backoff after a failure (default 60, 300 s); the
# blaster session is passive, so "connect delay time" does not apply to it.
FLAP_KNOBS = {
    "bgpsieve": '\nidle_hold = "0s"\nidle_hold_max = "1s"\nconnect_retry = "1s"',
    "bird": "\n    error wait time 1, 1;",
}
# flap.sh builds sink-rs here, apart from run.sh's build, so that a run.sh started meanwhile
# from another working tree state cannot replace the sink between two DUTs.
SINK_RS = "/tmp/bgpbench/target-flap/release/bgpsink"
FIELDS = ["date", "kind", "dut", "n", "n6", "routes", "accepted", "duration_s", "settle_s", "cycles", "status",
          "rss_before_mb", "rss_full_first_mb", "rss_full_last_mb", "rss_empty_first_mb",
          "rss_empty_last_mb", "rss_idle_tail_mb", "growth_full_mb", "growth_full_ratio", "growth_empty_mb",
          "growth_empty_ratio", "slope_full_mb_per_100", "slope_empty_mb_per_100",
          "bytes_per_route_first", "bytes_per_route_last", "bytes_per_route_vs_idle", "hwm_mb", "cycle_s_median",
          "connect_s_median", "fill_s_median", "drain_s_median", "dut_cpu_s", "version", "rundir"]


def log(*a):
    print(f"[flap {time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


def mb(kb):
    return kb / 1024


def slope(ys):
    """Least-squares slope of ys against 0..n-1 (None with fewer than 2 points)."""
    n = len(ys)
    if n < 2:
        return None
    mx, my = (n - 1) / 2, sum(ys) / n
    return sum((i - mx) * (y - my) for i, y in enumerate(ys)) / sum((i - mx) ** 2 for i in range(n))


def bgpsieve_rib(dut):
    """Routes from the blaster bgpsieve holds as accepted (bgpsieve_routes_current, in)."""
    try:
        text = urllib.request.urlopen(f"http://{dut.api}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    m = re.findall(r'^bgpsieve_routes_current\{[^}]*direction="in"[^}]*peer="blaster"[^}]*\} (\d+)',
                   text, re.M)
    return sum(map(int, m)) if m else None


def bgpsieve_final(dut):
    out = []
    for path in ("/api/v1/peers", "/metrics"):
        try:
            out.append(urllib.request.urlopen(f"http://{dut.api}{path}", timeout=5).read().decode())
        except OSError as e:
            out.append(f"{path}: {e}\n")
    return "\n".join(out)


def settled_rss(pid, settle, every=0.25):
    """VmRSS (MB) of pid's tree after `settle` s, and the highest value seen on the way (read
    every 0.25 s): bgpsieve's allocator gives freed pages back after a purge delay (1 s), so an
    early sample still shows them."""
    end, top = time.monotonic() + settle, 0.0
    while True:
        v = mb(status_kb(tree(pid), "VmRSS"))
        top = max(top, v)
        if time.monotonic() >= end:
            return v, top
        time.sleep(min(every, max(0.0, end - time.monotonic())))


class Failed(Exception):
    pass


def flap_one(name, args, data, meta, stamp):
    """One DUT: start everything, flap for args.duration s, stop everything. Returns a summary."""
    dut = DUTS[name](None, rov=True, max_prefix=True, sanity=args.sanity)
    dut.data, dut.v6 = data, bool(args.v6)
    dut.blaster_extra = FLAP_KNOBS.get(name, "")
    label = run.label_of(name, sanity=args.sanity, v6=args.v6)
    rundir = f"/tmp/bgpbench/runs/flap-{label}-{args.n}-{stamp}"
    os.makedirs(rundir)
    dut.dir = rundir
    # Run copies of the blaster, the sink and bgpsieve's binary: the repository may change while
    # the loop runs (someone builds or checks out), and the copies record what was measured.
    for f in ("blaster.py", "bgp.py"):
        shutil.copy(os.path.join(HERE, f), rundir)
    sink_bin = shutil.copy(SINK_RS, rundir)
    if name == "bgpsieve":
        src = dut.bin()
        summary_extra = {"binary": src, "binary_mtime": datetime.fromtimestamp(
            os.path.getmtime(src), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        bgpsieve_bin = shutil.copy(src, os.path.join(rundir, "bgpsieve"))
        dut.bin = lambda: bgpsieve_bin
    else:
        summary_extra = {}
    n_expected = meta["expected_accepted"]
    routes = meta["n"] + meta.get("n6", 0)
    rib = (lambda: bgpsieve_rib(dut)) if name == "bgpsieve" else dut.rib
    log(f"{label}: run dir {rundir}")

    procs, cycles = [], []
    summary = {"dut": label, "n": args.n, "n6": args.v6, "routes": routes, "accepted": n_expected,
               "duration_s": args.duration, "rundir": rundir, "status": "ok", **summary_extra}
    counts_file = f"{rundir}/sink.counts"

    def spawn(pname, cmd, mode="w"):
        p = subprocess.Popen(cmd, stdout=open(f"{rundir}/{pname}.log", mode),
                             stderr=subprocess.STDOUT, start_new_session=True)
        procs.append((pname, p))
        return p

    def counts():
        try:
            return json.load(open(counts_file))
        except (OSError, ValueError):
            return None

    try:
        spawn("stayrtr", ["stayrtr", "-cache", os.path.join(data, "vrps.json"),
                          "-bind", f"{RTR_IP}:{RTR_PORT}", "-metrics.addr", f"{RTR_IP}:9847",
                          "-checktime=false", "-refresh", "86400", "-log.verbose=false"])
        run.wait_for("stayrtr", lambda: "Server started" in open(f"{rundir}/stayrtr.log").read(), 120)
        sink_p = spawn("sink", [sink_bin, "--listen", f"{SINK_IP}:{SINK_PORT}",
                                "--asn", str(getattr(DUTS[name], "sink_as", SINK_AS)),
                                "--expected", os.path.join(data, "expected.txt"),
                                "--out", f"{rundir}/sink.json", "--ready", f"{rundir}/sink.ready",
                                "--status", f"{rundir}/sink.status", "--live", "1",
                                "--counts", counts_file] + (["--v6", "1"] if args.v6 else []))
        run.wait_for("sink", lambda: os.path.exists(f"{rundir}/sink.ready"), 120)

        t0 = time.monotonic()
        dp = dut.start()
        procs.append(("dut", dp))
        want = dut.vrps_expected(meta, data)

        def alive():
            for pname, p in (("DUT", dp), ("sink", sink_p)):
                if p.poll() is not None:
                    raise Failed(f"{pname} exited, rc {p.returncode}; see {rundir}")

        def vrps_loaded():
            alive()
            v = dut.vrps()
            return v if v and v >= want else None
        vrps = run.wait_for(f"DUT to hold {want} VRPs", vrps_loaded, 600, 0.5)
        log(f"{label}: DUT holds {vrps} VRPs after {time.monotonic() - t0:.1f}s")
        if not getattr(dut, "router_follows_neighbor", False):
            run.wait_for("DUT -> sink session", lambda: os.path.exists(f"{rundir}/sink.status"), 60)
        time.sleep(args.settle)
        dpids = tree(dp.pid)
        rss_before = mb(status_kb(dpids, "VmRSS"))
        cpu0 = cpu_s(dpids)
        summary.update(rss_before_mb=rss_before, vrps=vrps, version=dut.version())
        log(f"{label}: RSS before the first table {rss_before:.1f} MB; flapping for {args.duration:.0f}s")

        def wait(what, pred, timeout):
            end = time.monotonic() + timeout
            while True:
                alive()
                v = pred()
                if v:
                    return time.monotonic()
                if time.monotonic() > end:
                    c = counts()
                    raise Failed(f"cycle {len(cycles) + 1}: timed out after {timeout}s waiting for "
                                 f"{what} (sink: {c}, DUT RIB: {rib()})")
                time.sleep(args.poll)

        jl = open(f"{rundir}/cycles.jsonl", "w")
        t_loop = time.monotonic()
        while time.monotonic() - t_loop < args.duration:
            i = len(cycles) + 1
            c0 = counts()
            if not c0 or c0["held"] != 0:
                raise Failed(f"cycle {i}: sink not empty at start: {c0}")
            bout = f"{rundir}/blaster.json"
            if os.path.exists(bout):
                os.remove(bout)
            t_spawn = time.monotonic()
            bp = spawn("blaster", [sys.executable, os.path.join(rundir, "blaster.py"),
                                   "--peer", f"{DUT_IP}:{DUT_PORT}", "--local", BLASTER,
                                   "--asn", str(BLASTER_AS), "--updates", os.path.join(data, "updates.bin"),
                                   "--out", bout, "--retries", str(int(args.cycle_timeout / 0.1)),
                                   "--retry-interval", "0.1"] + (["--v6"] if args.v6 else []), mode="a")

            def full():
                if bp.poll() is not None:
                    raise Failed(f"cycle {i}: blaster exited early, rc {bp.returncode}")
                c = counts()
                return c and c["held_expected"] == n_expected
            t_full = wait("the sink to hold the expected set", full, args.cycle_timeout)
            rss_full, rss_full_max = settled_rss(dp.pid, args.settle)
            c_full = counts()
            hwm = mb(status_kb(tree(dp.pid), "VmHWM"))
            rib_full = rib()
            b = json.load(open(bout)) if os.path.exists(bout) else {}

            t_kill = time.monotonic()
            stop([("blaster", bp)])
            procs.remove(("blaster", bp))
            t_sink_empty = wait("the sink to see every withdrawal",
                                lambda: (counts() or {}).get("held") == 0, args.cycle_timeout)
            rss_empty, rss_empty_max = settled_rss(dp.pid, args.settle)
            rib_empty = rib()
            c_empty = counts()
            t_first = b.get("t_first")
            cyc = {
                "cycle": i, "t": round(time.monotonic() - t_loop, 3),
                "rss_full_mb": round(rss_full, 2), "rss_empty_mb": round(rss_empty, 2),
                "rss_full_settle_max_mb": round(rss_full_max, 2),
                "rss_empty_settle_max_mb": round(rss_empty_max, 2),
                "hwm_mb": round(hwm, 2),
                "connect_s": round(t_first - t_spawn, 3) if t_first else None,
                "attempts": b.get("attempts"),
                "fill_s": round(t_full - t_first, 3) if t_first else None,
                "drain_s": round(t_sink_empty - t_kill, 3),
                "cycle_s": round(time.monotonic() - t_spawn, 3),
                "sink_held_full": c_full["held"], "sink_held_expected_full": c_full["held_expected"],
                "sink_announced": c_empty["announced"], "sink_withdrawn": c_empty["withdrawn"],
                "dut_rib_full": rib_full, "dut_rib_empty": rib_empty,
                "dut_cpu_s": round(cpu_s(tree(dp.pid)) - cpu0, 2),
            }
            if c_full["held"] != n_expected:
                cyc["false_accepts"] = c_full["held"] - c_full["held_expected"]
            cycles.append(cyc)
            jl.write(json.dumps(cyc) + "\n")
            jl.flush()
            log(f"{label} cycle {i:3d} t={cyc['t']:6.1f}s  full {rss_full:7.1f} MB  empty "
                f"{rss_empty:7.1f} MB (max {rss_empty_max:.1f} while settling)  hwm {hwm:7.1f} MB  connect {cyc['connect_s']}s "
                f"({cyc['attempts']} tries)  fill {cyc['fill_s']}s  drain {cyc['drain_s']}s"
                + (f"  FALSE ACCEPTS {cyc['false_accepts']}" if "false_accepts" in cyc else ""))
        # The DUT's own count of accepted routes from the blaster, read with each RSS sample, is
        # informative only: a cycle goes by the sink. bgpsieve's gauge is recomputed after RIB
        # work at most once a second, so a read soon after a burst can be stale; None: nothing to
        # read (BIRD prints no "Routes:" line while the session is down).
        summary["dut_rib_disagrees"] = sum(1 for c in cycles if c["dut_rib_full"] not in (n_expected, None)
                                           or c["dut_rib_empty"] not in (0, None))
        # Does RSS come back when the DUT sits idle and empty for a while?
        if cycles and args.idle_tail > 0:
            time.sleep(args.idle_tail)
            summary["rss_idle_tail_mb"] = mb(status_kb(tree(dp.pid), "VmRSS"))
            log(f"{label}: RSS {summary['rss_idle_tail_mb']:.1f} MB after {args.idle_tail:.0f}s idle and empty")
        summary["dut_cpu_s"] = round(cpu_s(tree(dp.pid)) - cpu0, 2)
        summary["hwm_mb"] = mb(status_kb(tree(dp.pid), "VmHWM"))
        logf = {"bgpsieve": "bgpsieve.log", "bird": "bird.log"}.get(name)
        if logf and os.path.exists(f"{rundir}/{logf}"):
            summary["log_bytes"] = os.path.getsize(f"{rundir}/{logf}")     # before the shutdown
    except (Failed, TimeoutError) as e:
        log(f"{label}: FAILED: {e}")
        summary["status"] = f"failed: {e}"
    finally:
        try:
            if "dp" in locals() and dp.poll() is None:
                open(f"{rundir}/dut-final.txt", "w").write(
                    bgpsieve_final(dut) if name == "bgpsieve" else dut.final())
        except OSError:
            pass
        stop(procs)
        log(f"{label}: stopped", ", ".join(f"{n}:{p.pid}" for n, p in procs))
    summary["cycles"] = len(cycles)
    summary["cycle_list"] = cycles
    # Warnings and errors the DUT logged during the loop, but the expected ones: every drop
    # (bgpsieve: the pair's two sessions going down; BIRD: none), BIRD's note that
    # its import channel has no import table for RPKI reloads (this config; the VRPs never change).
    if name == "bgpsieve":
        text = open(f"{rundir}/bgpsieve.log", errors="replace").read(summary.get("log_bytes"))
        # Every drop: the neighbor side is lost, and the router side is closed with a Cease.
        expected = ("session down peer=blaster side=neighbor reason=connection lost",
                    "sending NOTIFICATION peer=blaster side=router notification=Cease/Administrative Shutdown",
                    "session down peer=blaster side=router reason=NOTIFICATION sent: Cease/Administrative Shutdown")
        summary["log_warnings"] = [l for l in text.splitlines() if re.search(r"\s(WARN|ERROR)\s", l)
                                   and not any(e in l for e in expected)]
    elif name == "bird" and os.path.exists(f"{rundir}/bird.log"):
        text = open(f"{rundir}/bird.log", errors="replace").read(summary.get("log_bytes"))
        summary["log_warnings"] = [l for l in text.splitlines()
                                   if re.search(r"<(WARN|ERR|BUG|FATAL)>", l)
                                   and "Automatic RPKI reload not active" not in l]
    return summarize(summary)


def summarize(s):
    cy = s["cycle_list"]
    if not cy:
        return s
    full = [c["rss_full_mb"] for c in cy]
    empty = [c["rss_empty_mb"] for c in cy]
    f0, fl, e0, el = full[0], full[-1], empty[0], empty[-1]
    sf, se = slope(full), slope(empty)
    med = lambda k: median([c[k] for c in cy if c.get(k) is not None] or [0])
    s.update(
        rss_full_first_mb=f0, rss_full_last_mb=fl, rss_empty_first_mb=e0, rss_empty_last_mb=el,
        growth_full_mb=fl - f0, growth_full_ratio=fl / f0, growth_empty_mb=el - e0,
        growth_empty_ratio=el / e0,
        slope_full_mb_per_100=sf * 100 if sf is not None else None,
        slope_empty_mb_per_100=se * 100 if se is not None else None,
        bytes_per_route_first=(f0 - s["rss_before_mb"]) * 1048576 / s["routes"],
        bytes_per_route_last=(fl - s["rss_before_mb"]) * 1048576 / s["routes"],
        cycle_s_median=med("cycle_s"), connect_s_median=med("connect_s"),
        fill_s_median=med("fill_s"), drain_s_median=med("drain_s"))
    if s.get("rss_idle_tail_mb"):
        # the same against the daemon idle and empty after the loop: an allocator may keep pages
        # it freed before the first table (VRP loading) and reuse them for routes
        s["bytes_per_route_vs_idle"] = (fl - s["rss_idle_tail_mb"]) * 1048576 / s["routes"]
    s.setdefault("hwm_mb", max(c["hwm_mb"] for c in cy))
    return s


def fmt(v, spec):
    if v is None:
        return "NA"
    return format(v, spec)


def ratio(a, b):
    return a / b if (isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0 and a >= 0) else None


# (label, key, format, ratio against the baseline is meaningful)
ROWS = [("cycles done", "cycles", "d", True),
        ("RSS before the first table MB", "rss_before_mb", ".1f", True),
        ("RSS full, first cycle MB", "rss_full_first_mb", ".1f", True),
        ("RSS full, last cycle MB", "rss_full_last_mb", ".1f", True),
        ("RSS empty, first cycle MB", "rss_empty_first_mb", ".1f", True),
        ("RSS empty, last cycle MB", "rss_empty_last_mb", ".1f", True),
        ("RSS empty, after the idle tail MB", "rss_idle_tail_mb", ".1f", True),
        ("growth full, last - first MB", "growth_full_mb", "+.1f", False),
        ("growth full, last / first", "growth_full_ratio", ".4f", False),
        ("growth empty, last - first MB", "growth_empty_mb", "+.1f", False),
        ("growth empty, last / first", "growth_empty_ratio", ".4f", False),
        ("slope RSS full MB / 100 cycles", "slope_full_mb_per_100", "+.2f", False),
        ("slope RSS empty MB / 100 cycles", "slope_empty_mb_per_100", "+.2f", False),
        ("bytes / route, first cycle", "bytes_per_route_first", ".0f", True),
        ("bytes / route, last cycle", "bytes_per_route_last", ".0f", True),
        ("bytes / route, last full vs idle tail", "bytes_per_route_vs_idle", ".0f", True),
        ("peak RSS (VmHWM) MB", "hwm_mb", ".1f", True),
        ("median cycle s", "cycle_s_median", ".2f", True),
        ("median reconnect s", "connect_s_median", ".2f", True),
        ("median fill s (first UPDATE -> sink full)", "fill_s_median", ".2f", True),
        ("median drain s (drop -> sink empty)", "drain_s_median", ".2f", True),
        ("DUT CPU s (flap loop)", "dut_cpu_s", ".1f", True),
        ("cycles where the DUT's count != sink's", "dut_rib_disagrees", "d", False)]


RATIO_KEYS = {k for _, k, _, rat in ROWS if rat}


def table(sums):
    heads = [s["dut"] for s in sums]
    base = sums[-1] if len(sums) > 1 else None
    cols = heads + ([f"{heads[0]}/{base['dut']}"] if base else [])
    w0 = max(len(r[0]) for r in ROWS)
    ws = [max(12, len(c)) for c in cols]
    out = ["".ljust(w0) + "  " + "  ".join(c.rjust(w) for c, w in zip(cols, ws))]
    for lab, k, spec, rat in ROWS:
        cells = [fmt(s.get(k), spec) for s in sums]
        if base:
            r = ratio(sums[0].get(k), base.get(k)) if rat else None
            cells.append(fmt(r, ".2f") if r is not None else "")
        out.append(lab.ljust(w0) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, ws)))
    for s in sums:
        if s["status"] != "ok":
            out.append(f"{s['dut']}: {s['status']}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("duts", nargs="*", default=["bgpsieve", "bird"],
                    help="DUTs in order; the last is the baseline of the ratios (default: bgpsieve bird)")
    ap.add_argument("--duration", type=float, default=600, help="seconds of flapping per DUT")
    ap.add_argument("--n", type=int, default=1_000_000, help="IPv4 prefixes in the table")
    ap.add_argument("--v6", type=int, default=200_000, help="IPv6 prefixes in the table (0: none)")
    ap.add_argument("--no-sanity", dest="sanity", action="store_false",
                    help="BIRD without the bogon / prefix length / reserved-ASN filters bgpsieve runs")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds from the sink full (empty) to the RSS sample, RSS read every 0.25 s")
    ap.add_argument("--idle-tail", type=float, default=10,
                    help="after the last cycle, sample RSS again after this many idle seconds")
    ap.add_argument("--poll", type=float, default=0.1, help="poll interval of the sink's counts")
    ap.add_argument("--cycle-timeout", type=float, default=300,
                    help="give up when a phase (fill, drain) takes longer than this")
    ap.add_argument("--data", default="/tmp/bgpbench/data")
    ap.add_argument("--results", default=os.path.join(HERE, "results-flap.tsv"))
    args = ap.parse_args()
    for d in args.duts:
        if d not in ("bgpsieve", "bird"):
            ap.error(f"{d}: flap.py knows how to make bgpsieve and bird restart quickly, not {d}")
    if not os.path.exists(SINK_RS):
        ap.error(f"{SINK_RS} missing: build it (flap.sh does)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data = run.ensure_data(args.data, args.n, args.v6)
    meta = json.load(open(os.path.join(data, "meta.json")))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    head = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", HERE, "status", "--short", "--", "../../src"],
                           capture_output=True, text=True).stdout.split()[1::2]
    log(f"repository at {head}" + (f", uncommitted: {' '.join(dirty)}" if dirty else ""))
    sums = [dict(flap_one(d, args, data, meta, stamp), git_head=head, git_dirty_src=dirty,
                 settle_s=args.settle)
            for d in args.duts]

    print(f"\nflap loop, {args.n:,} IPv4 + {args.v6:,} IPv6 routes ({meta['expected_accepted']:,} "
          f"accepted), {args.duration:.0f} s per DUT, {stamp}")
    print(table(sums))
    for s in sums:
        if s.get("log_warnings"):
            print(f"\n{s['dut']}: {len(s['log_warnings'])} warning/error log lines (first 5):")
            for l in s["log_warnings"][:5]:
                print("  " + l)
    print()
    for s in sums:
        print(f"{s['dut']}: {s['rundir']}/cycles.jsonl")
    json.dump(sums, open(f"/tmp/bgpbench/runs/flap-{stamp}-summary.json", "w"), indent=1)
    print(f"summary: /tmp/bgpbench/runs/flap-{stamp}-summary.json; TSV: {args.results}")

    rows = []
    for s in sums:
        rows.append(dict(s, kind="dut", date=stamp))
    if len(sums) > 1:
        a, b = sums[0], sums[-1]
        r = {"date": stamp, "kind": "ratio", "dut": f"{a['dut']}/{b['dut']}", "n": args.n,
             "n6": args.v6, "routes": a["routes"], "accepted": a["accepted"],
             "duration_s": args.duration, "settle_s": args.settle, "status": "ok" if a["status"] == b["status"] == "ok" else "failed",
             "version": "", "rundir": ""}
        for _, k, _, rat in ROWS:
            if rat:
                r[k] = ratio(a.get(k), b.get(k))
        rows.append(r)
    new = not os.path.exists(args.results)
    with open(args.results, "a") as f:
        if new:
            f.write("\t".join(FIELDS) + "\n")
        for r in rows:
            cells = []
            for k in FIELDS:
                v = r.get(k)
                if v is None:
                    v = "NA"
                elif isinstance(v, float):
                    v = f"{v:.4f}" if (r["kind"] == "ratio" and k in RATIO_KEYS) or k.endswith("_ratio") else f"{v:.2f}"
                cells.append(str(v).replace("\t", " ").replace(" ", "_") if k == "version" else str(v).replace("\t", " "))
            f.write("\t".join(cells) + "\n")
    return 0 if all(s["status"] == "ok" for s in sums) else 2


if __name__ == "__main__":
    sys.exit(main())
