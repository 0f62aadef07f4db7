#!/usr/bin/env python3
"""One benchmark run: stayrtr -> sink -> DUT -> (VRPs loaded, sink up) -> blaster.

Prints one key=value summary line and appends it to results.tsv. Every process
started here is stopped here, by PID, also on errors and signals.
"""
import argparse, json, os, signal, socket, subprocess, sys, time
from datetime import datetime, timezone
from duts import DUTS, BLASTER, BLASTER_AS, DUT_IP, DUT_PORT, SINK_IP, SINK_PORT, SINK_AS, RTR_IP, RTR_PORT

HERE = os.path.dirname(os.path.abspath(__file__))
SINK_RS = "/tmp/bgpbench/target/release/bgpsink"      # built by run.sh from sink-rs/
CLK = os.sysconf("SC_CLK_TCK")
FIELDS = ["date", "dut", "n", "run", "complete", "e2e_s", "e2e_pps", "rib_s", "ingest_s",
          "received", "expected", "false_accepts", "false_rejects", "withdrawn",
          "cpu_s", "cpu_total_s", "rss_peak_mb", "rss_vrps_mb", "vrps", "vrp_load_s",
          "sink", "sink_cpu_s", "version"]


def log(*a):
    print(f"[run {time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


def tree(pid):
    """pid and all its descendants (OpenBGPD forks helpers)."""
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p))
            except (OSError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def cpu_s(pids):
    t = 0
    for p in pids:
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            t += int(f[11]) + int(f[12])            # utime + stime
        except OSError:
            pass
    return t / CLK


def status_kb(pids, key):
    t = 0
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith(key + ":"):
                    t += int(line.split()[1])
        except OSError:
            pass
    return t


def wait_for(what, pred, timeout, every=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def stop(procs):
    """SIGTERM each process we started (and its descendants), by PID; SIGKILL stragglers."""
    for name, p in reversed(procs):
        pids = tree(p.pid)
        for q in pids:
            try:
                os.kill(q, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for q in pids:
            try:
                os.kill(q, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"could not reap {name} pid {p.pid}")


def ensure_data(datadir, n, v6):
    """The data directory for N IPv4 (+ v6 IPv6) prefixes under datadir, generated if missing."""
    data = os.path.join(datadir, str(n) + (f"-v6{v6}" if v6 else ""))
    if not os.path.exists(os.path.join(data, "meta.json")):
        log("generating data for n =", n, f"+ {v6} IPv6" if v6 else "")
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(n), data]
                       + (["--v6", str(v6)] if v6 else []), check=True)
    return data


def label_of(dut, no_rov=False, no_max_prefix=False, sanity=False, v6=0):
    """The dut= tag of a result row: NAME plus what the run changed."""
    return dut + ("-norov" if no_rov else "") + ("-nomaxpfx" if no_max_prefix else "") + (
        "-sanity" if sanity and dut == "bird" else "") + (f"-v6_{v6}" if v6 else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dut", choices=list(DUTS))
    ap.add_argument("n", type=int)
    ap.add_argument("--run", default="1", help="label for this repetition")
    ap.add_argument("--cap", type=float, default=600, help="max seconds from first UPDATE")
    ap.add_argument("--poll", type=float, default=0.25, help="RIB poll interval")
    ap.add_argument("--stall", type=float, default=60,
                    help="give up when the DUT's RIB count has not grown for this long")
    ap.add_argument("--no-rov", action="store_true",
                    help="DUT accepts everything (isolates the cost of ROV); tagged dut=NAME-norov")
    ap.add_argument("--sanity", action="store_true",
                    help="BIRD also filters bogons, prefix lengths and reserved ASNs (bgpsieve always does)")
    ap.add_argument("--no-max-prefix", action="store_true",
                    help="no max-prefix limit on the blaster session; tagged dut=NAME-nomaxpfx")
    ap.add_argument("--sink", choices=["rs", "py"], default="rs" if os.path.exists(SINK_RS) else "py",
                    help="rs: sink-rs (fast, default when built); py: sink.py")
    ap.add_argument("--v6", type=int, default=0, metavar="M",
                    help="add M IPv6 prefixes (MP_REACH_NLRI) to the N IPv4 ones; tagged dut=NAME-v6_M")
    ap.add_argument("--data", default="/tmp/bgpbench/data")
    ap.add_argument("--results", default=os.path.join(HERE, "results.tsv"))
    args = ap.parse_args()

    if args.v6 and not DUTS[args.dut].supports_v6:
        ap.error(f"--v6: the {args.dut} DUT is configured for IPv4 only")
    if args.v6 and args.sink != "rs":
        ap.error("--v6 needs sink-rs (sink.py counts IPv4 only)")
    data = ensure_data(args.data, args.n, args.v6)
    meta = json.load(open(os.path.join(data, "meta.json")))
    dut = DUTS[args.dut](None, rov=not args.no_rov, max_prefix=not args.no_max_prefix,
                         sanity=args.sanity)
    dut.data = data
    dut.v6 = bool(args.v6)
    filtering = dut.uses_rtr and dut.rov
    expected_file = os.path.join(data, "expected.txt" if filtering else "all.txt")
    n_expected = meta["expected_accepted"] if filtering else meta["n"] + meta.get("n6", 0)
    label = label_of(args.dut, args.no_rov, args.no_max_prefix, args.sanity, args.v6)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    rundir = f"/tmp/bgpbench/runs/{label}-{args.n}-{args.run}-{stamp}"
    os.makedirs(rundir)
    dut.dir = rundir
    log("run dir", rundir)

    procs = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        def spawn(name, cmd):
            p = subprocess.Popen(cmd, stdout=open(f"{rundir}/{name}.log", "w"),
                                 stderr=subprocess.STDOUT, start_new_session=True)
            procs.append((name, p))
            return p

        py = sys.executable
        if dut.uses_rtr:
            spawn("stayrtr", ["stayrtr", "-cache", os.path.join(data, "vrps.json"),
                              "-bind", f"{RTR_IP}:{RTR_PORT}", "-metrics.addr", f"{RTR_IP}:9847",
                              "-checktime=false", "-refresh", "86400", "-log.verbose=false"])
            wait_for("stayrtr", lambda: "Server started" in open(f"{rundir}/stayrtr.log").read(), 120)
        sink_cmd = [SINK_RS] if args.sink == "rs" else [py, os.path.join(HERE, "sink.py")]
        sink_p = spawn("sink", sink_cmd + ["--listen", f"{SINK_IP}:{SINK_PORT}",
                       "--asn", str(getattr(DUTS[args.dut], "sink_as", SINK_AS)), "--expected", expected_file, "--out", f"{rundir}/sink.json",
                       "--dump", f"{rundir}/received.txt", "--ready", f"{rundir}/sink.ready",
                       "--status", f"{rundir}/sink.status"] + (["--v6", "1"] if args.v6 else []))
        wait_for("sink", lambda: os.path.exists(f"{rundir}/sink.ready"), 120)

        dpids, t_vrp, vrps = [], 0.0, None
        if args.dut != "none":
            t0 = time.monotonic()
            dp = dut.start()
            procs.append(("dut", dp))
            want = dut.vrps_expected(meta, data)

            def vrps_loaded():
                if dp.poll() is not None:
                    raise RuntimeError(f"DUT exited, rc {dp.returncode}; see {rundir}/dut.out")
                v = dut.vrps()
                return v if v and v >= want else None
            vrps = wait_for(f"DUT to hold {want} VRPs", vrps_loaded, 600, 0.5)
            t_vrp = time.monotonic() - t0
            log(f"DUT holds {vrps} VRPs after {t_vrp:.1f}s")
            if not getattr(dut, "router_follows_neighbor", False):
                wait_for("DUT -> sink session", lambda: os.path.exists(f"{rundir}/sink.status"), 60)
            dpids = tree(dp.pid)
        target = f"{DUT_IP}:{DUT_PORT}" if args.dut != "none" else f"{SINK_IP}:{SINK_PORT}"
        time.sleep(1)                                  # let post-load housekeeping settle
        rss_vrps = status_kb(dpids, "VmRSS") / 1024
        cpu0 = cpu_s(dpids)

        bp = spawn("blaster", [py, os.path.join(HERE, "blaster.py"), "--peer", target,
                               "--local", BLASTER, "--asn", str(BLASTER_AS),
                               "--updates", os.path.join(data, "updates.bin"), "--out", f"{rundir}/blaster.json"]
                   + (["--v6"] if args.v6 else []))
        t_start = time.monotonic()
        t_rib, rib, t_grew, last_rib = None, None, time.monotonic(), -1
        # Poll until the sink has everything (it exits) or the cap is hit.
        while sink_p.poll() is None:
            now = time.monotonic()
            if now - t_start > args.cap + 5:
                log(f"cap of {args.cap}s reached, stopping sink")
                sink_p.send_signal(signal.SIGTERM)
                sink_p.wait(timeout=120)
                break
            if bp.poll() is not None:
                log("blaster exited early, rc", bp.returncode)
                sink_p.send_signal(signal.SIGTERM)
                sink_p.wait(timeout=120)
                break
            if dpids and t_rib is None:
                rib = dut.rib()
                if rib is not None and rib >= n_expected:
                    t_rib = time.monotonic()
                if rib != last_rib:
                    t_grew, last_rib = now, rib
                elif now - t_grew > args.stall:
                    log(f"DUT RIB stuck at {rib} for {args.stall}s, stopping sink")
                    sink_p.send_signal(signal.SIGTERM)
                    sink_p.wait(timeout=120)
                    break
            time.sleep(args.poll)
        if dpids and t_rib is None:                    # sink done first; RIB must be complete too
            end = time.monotonic() + 30
            while time.monotonic() < end:
                rib = dut.rib()
                if rib is not None and rib >= n_expected:
                    t_rib = time.monotonic()
                    break
                time.sleep(args.poll)
        cpu1 = cpu_s(tree(dpids[0])) if dpids else 0
        if dpids:
            open(f"{rundir}/dut-final.txt", "w").write(dut.final())
        rss_peak = status_kb(tree(dpids[0]), "VmHWM") / 1024 if dpids else 0

        s = json.load(open(f"{rundir}/sink.json"))
        b = json.load(open(f"{rundir}/blaster.json")) if os.path.exists(f"{rundir}/blaster.json") else {}
        t_first = b.get("t_first")
        complete = s["t_done"] is not None
        t_end = s["t_done"] if complete else s["t_last"]
        e2e = (t_end - t_first) if (t_first and t_end) else None
        row = {
            "date": stamp, "dut": label, "n": args.n, "run": args.run,
            "complete": "yes" if complete else "no",
            "e2e_s": f"{e2e:.3f}" if e2e else "NA",
            "e2e_pps": f"{s['unique'] / e2e:.0f}" if e2e else "NA",
            "rib_s": f"{t_rib - t_first:.2f}" if (t_rib and t_first) else "NA",
            "ingest_s": f"{b['t_sent'] - t_first:.3f}" if b else "NA",
            "received": s["unique"], "expected": n_expected,
            "false_accepts": s["false_accepts"], "false_rejects": s["false_rejects"],
            "withdrawn": s["withdrawn"],
            "cpu_s": f"{cpu1 - cpu0:.2f}" if dpids else "NA",
            "cpu_total_s": f"{cpu1:.2f}" if dpids else "NA",
            "rss_peak_mb": f"{rss_peak:.0f}" if dpids else "NA",
            "rss_vrps_mb": f"{rss_vrps:.0f}" if dpids else "NA",
            "vrps": vrps if vrps is not None else "NA",
            "vrp_load_s": f"{t_vrp:.1f}" if dpids else "NA",
            "sink": args.sink, "sink_cpu_s": s.get("cpu_s"),
            "version": dut.version().replace(" ", "_") if dpids else f"blaster.py+sink-{args.sink}",
        }
        if s["false_accepts"] or s["false_rejects"]:
            log("false accepts e.g.", s["examples_false_accepts"][:5], "false rejects e.g.",
                s["examples_false_rejects"][:5])
        line = " ".join(f"{k}={row[k]}" for k in FIELDS)
        print(line, flush=True)
        new = not os.path.exists(args.results)
        with open(args.results, "a") as f:
            if new:
                f.write("\t".join(FIELDS) + "\n")
            f.write("\t".join(str(row[k]) for k in FIELDS) + "\n")
        return 0 if complete else 2
    finally:
        stop(procs)
        log("stopped", ", ".join(f"{n}:{p.pid}" for n, p in procs))


if __name__ == "__main__":
    sys.exit(main())
