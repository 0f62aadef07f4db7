#!/usr/bin/env python3
"""Graceful-restart benchmark (issue #12 item 1): does a restart of bgpsieve, planned (SIGTERM,
what `systemctl restart` sends) or a crash (SIGKILL), remove routes from the router's table
while bgpsieve is away and the table comes through again? With a full table.

For each router (BIRD 2, FRR bgpd), on loopback 127.0.6.0/24, ports 12600-12699:

  neighbor (gr_neighbor.py, AS 64601, passive, GR helper)
      <-> bgpsieve (one pair, role provider, [graceful_restart] restart_time 120s)
      <-> router (AS 64700, passive, graceful restart on, imports everything)

1. bgpsieve connects to the neighbor and to the router; the neighbor sends its table (gen.py's
   updates.bin, N IPv4 + M IPv6 routes, with End-of-RIB for both); wait until the router holds
   all of it.
2. Rounds, SIGTERM then SIGKILL: the router's table of routes from bgpsieve is sampled every
   --poll s (100 ms) from 1 s before the signal; the neighbor is told (phase file) to leave out
   the next withdrawn set (--withdraw prefixes, whole UPDATEs) from the table it sends on the next
   session: these are "the routes that changed meanwhile"; bgpsieve is signalled, waited for
   (what systemd does), and started again after --gap s; wait until the router holds exactly the
   table minus every set withdrawn so far and its session is Established, --settle s more, stop
   the sampler. Then check a sample of the withdrawn prefixes (gone) and of the next set's (still
   there) one by one.

Per round: the fewest routes the router held in any sample, and before the stale routes were
cleared (count = table minus the new set for the first time), sample count and largest gap,
seconds from the signal to bgpsieve's exit, to its start, to the router's session up again, to the
neighbor's session up and its table sent, to the stale routes cleared; bgpsieve's RSS and
peak (VmHWM). One TSV row per round to results-gr.tsv, all samples to RUNDIR/samples-R.jsonl, a
markdown summary to stdout and RUNDIR/summary.md. Every process started here is stopped here,
by PID (also on errors and SIGTERM). Never systemd.
"""
import argparse, json, os, re, shutil, signal, subprocess, sys, threading, time
from datetime import datetime, timezone

import run
from run import tree, status_kb, stop, HERE

NEIGHBOR_AS, ROUTER_AS = 64601, 64700        # gen.py's paths start with 64601
RESTART_TIME = 120
FIELDS = ["date", "router", "router_version", "n", "n6", "withdraw", "round", "stop", "table_before",
          "table_after", "status", "samples", "max_gap_s", "min_count", "min_v4", "min_v6",
          "min_before_eor_v4", "min_before_eor_v6", "exit_s", "start_s", "router_down_s", "reestablished_s",
          "sieve_router_up_s", "neighbor_up_s", "eor_sent_v4_s", "eor_sent_v6_s", "first_drop_v4_s",
          "first_drop_v6_s", "cleanup_s", "gr_end_s", "walk_count_before", "walk_count",
          "final_count", "withdrawn_gone", "kept_present", "sieve_rss_mb", "sieve_hwm_mb",
          "sieve_hwm_prev_mb", "router_rss_mb", "load_s", "commit", "rundir"]


def log(*a):
    print(f"[gr {time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


def sh(cmd, timeout=20):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        return ""


class Failed(Exception):
    pass


def addresses(base):
    """bgpsieve toward the neighbor, the neighbor, the router, bgpsieve toward the router; ports."""
    ip = lambda k: f"127.0.6.{base + k}"
    port = lambda k: 12600 + base + k
    return dict(sieve=ip(1), neighbor=ip(2), router=ip(3), toward=ip(11), sieve_port=port(0),
                neighbor_port=port(2), router_port=port(3), api_port=port(9))


class BirdRouter:
    name = "bird"
    base = 0

    def __init__(self, rundir, a):
        self.dir, self.a = rundir, a
        self.sock = f"{rundir}/bird.ctl"

    def cmd(self):
        a = self.a
        conf = f"""
log "{self.dir}/bird.log" {{ info, remote, warning, error, auth, fatal, bug }};
router id {a['router']};
protocol device {{ }}
# The neighbor's next hops (gen.py: 192.0.2.1, 2001:db8::1) resolve via these; no kernel protocol.
protocol static {{ ipv4; route 192.0.2.0/24 via "lo"; }}
protocol static {{ ipv6; route 2001:db8::/32 via "lo"; }}
protocol bgp sieve {{
    local {a['router']} port {a['router_port']} as {ROUTER_AS};
    neighbor {a['toward']} as {NEIGHBOR_AS};
    multihop;
    passive on;
    graceful restart on;
    ipv4 {{ import all; export none; }};
    ipv6 {{ import all; export none; }};
}}
"""
        open(f"{self.dir}/bird.conf", "w").write(conf)
        return ["bird", "-f", "-c", f"{self.dir}/bird.conf", "-s", self.sock, "-P", f"{self.dir}/bird.pid"]

    def ready(self):
        return "BIRD" in sh(["birdc", "-s", self.sock, "show", "status"], 5)

    def sample(self):
        """{v4, v6: routes from bgpsieve in the tables, stale ones included; up: Established;
        since: when the session came up (changes when it comes up again); gr: the router is
        helping bgpsieve through a restart}. The channels' "Routes: N imported" counters, O(1):
        they count stale routes too (checked against `show route count` at 100k, and at the end
        of every round here); `show route count` walks the table, over a second at 1.2M."""
        st = sh(["birdc", "-s", self.sock, "show", "protocols", "all", "sieve"])
        m = re.search(r"^sieve\s+BGP\s+\S+\s+up\s+(.*?)\s+Established", st, re.M)
        ch = dict(re.findall(r"Channel (ipv4|ipv6)\n(?:.*\n)*?\s+Routes:\s+(\d+) imported", st))
        return {"v4": int(ch["ipv4"]) if "ipv4" in ch else None, "v6": int(ch["ipv6"]) if "ipv6" in ch else None,
                "up": bool(m), "since": m.group(1) if m else None,
                "gr": "Neighbor graceful restart active" in st}

    def walk_count(self):
        """Routes from bgpsieve in both tables, counted by walking them."""
        out = sh(["birdc", "-s", self.sock, "show", "route", "count", "protocol", "sieve"], 120)
        counts = re.findall(r"^(\d+) of \d+ routes for \d+ networks in table", out, re.M)
        return sum(map(int, counts)) if counts else None

    def has(self, prefix):
        out = sh(["birdc", "-s", self.sock, "show", "route", prefix, "protocol", "sieve"])
        return prefix in out

    def info(self):
        return sh(["birdc", "-s", self.sock, "show", "protocols", "all", "sieve"]) + sh(
            ["birdc", "-s", self.sock, "show", "memory"])

    def version(self):
        return sh(["bird", "--version"]).strip().split()[-1]

    def cleanup(self, pid):
        pass


class FrrRouter:
    name = "frr"
    base = 20
    BGPD = "/usr/lib/frr/bgpd"

    def __init__(self, rundir, a):
        self.dir, self.a = rundir, a
        self.vty = f"{rundir}/vty"

    def cmd(self):
        a, t = self.a, self.a["toward"]
        conf = f"""frr defaults traditional
hostname router
log stdout informational
router bgp {ROUTER_AS}
 bgp router-id {a['router']}
 bgp log-neighbor-changes
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 neighbor {t} remote-as {NEIGHBOR_AS}
 neighbor {t} update-source {a['router']}
 neighbor {t} ebgp-multihop 2
 neighbor {t} timers connect 1
 neighbor {t} passive
 address-family ipv4 unicast
  neighbor {t} activate
  neighbor {t} route-map NONE out
 exit-address-family
 address-family ipv6 unicast
  neighbor {t} activate
  neighbor {t} route-map NONE out
 exit-address-family
!
! Like BIRD's "export none": without it bgpd sends the whole table back to bgpsieve, which
! rejects it (not-announceable toward a provider), doubling both sides' work.
route-map NONE deny 10
"""
        open(f"{self.dir}/frr.conf", "w").write(conf)
        os.makedirs(self.vty, exist_ok=True)
        # -Z: no zebra (no kernel routes, every next hop reachable); -S: stay this user;
        # -P 0: no TCP vty; -l/-p: listen on this address and port only.
        return [self.BGPD, "-f", f"{self.dir}/frr.conf", "-i", f"{self.dir}/bgpd.pid",
                "--vty_socket", self.vty, "-Z", "-S", "-P", "0", "-l", a["router"], "-p",
                str(a["router_port"]), "--log", "stdout", "--log-level", "informational"]

    def vtysh(self, c, timeout=20):
        return sh(["vtysh", "--vty_socket", self.vty, "-d", "bgpd", "-c", c], timeout)

    def ready(self):
        return self.vtysh("show bgp summary json", 5).lstrip().startswith("{")

    def sample(self):
        """As BirdRouter.sample, from `show bgp summary json` (pfxRcd counts stale routes); gr:
        not read (None)."""
        r = {"v4": None, "v6": None, "up": False, "since": None, "gr": None}
        try:
            v = json.loads(self.vtysh("show bgp summary json"))
        except ValueError:
            return r
        up = True
        for af, k in (("ipv4Unicast", "v4"), ("ipv6Unicast", "v6")):
            p = v.get(af, {}).get("peers", {}).get(self.a["toward"])
            if p is None:
                return r
            r[k] = p.get("pfxRcd", 0)
            up = up and p.get("state") == "Established"
            r["since"] = p.get("peerUptimeEstablishedEpoch") if up else None
        r["up"] = up
        return r

    def walk_count(self):
        """(pfxRcd is the count; no table walk.)"""
        return None

    def has(self, prefix):
        af = "ipv6" if ":" in prefix else "ipv4"
        try:
            v = json.loads(self.vtysh(f"show bgp {af} unicast {prefix} json"))
        except ValueError:
            return False
        return bool(v.get("paths"))

    def info(self):
        return self.vtysh(f"show bgp neighbors {self.a['toward']}") + self.vtysh("show bgp summary") + \
            self.vtysh("show memory bgpd")

    def version(self):
        m = re.search(r"version (\S+)", sh([self.BGPD, "--version"]))
        return m.group(1) if m else "?"

    def cleanup(self, pid):
        # bgpd's crash-log directory (compiled in), removed on a clean exit only
        shutil.rmtree(f"/var/tmp/frr/bgpd.{pid}", ignore_errors=True)


ROUTERS = {"bird": BirdRouter, "frr": FrrRouter}


def sieve_conf(rundir, a):
    return f"""[global]
asn = {ROUTER_AS}
router_id = "{a['sieve']}"
listen = ["{a['sieve']}:{a['sieve_port']}", "{a['toward']}:{a['sieve_port']}"]
state_dir = "{rundir}/state"

[api]
listen = "{a['sieve']}:{a['api_port']}"

[graceful_restart]
restart_time = "{RESTART_TIME}s"

# The neighbor sends gen.py's synthetic table: a private ASN (64601) first in every path and
# next hops in documentation space, hence allow_private_asn and no next-hop check; every other
# default check runs (no RPKI or IRR data configured, no max-prefix).
[[peer]]
name = "neighbor"
role = "provider"
asn = {NEIGHBOR_AS}
address = "{a['neighbor']}"
local_address = "{a['sieve']}"
port = {a['neighbor_port']}
afi = ["ipv4", "ipv6"]
allow_private_asn = true
checks_disable = ["next-hop"]
prefix_length_v4 = [8, 24]
prefix_length_v6 = [16, 48]
idle_hold = "1s"
connect_retry = "1s"
router = {{ address = "{a['router']}", local_address = "{a['toward']}", port = {a['router_port']} }}
"""


class Sampler:
    """Samples router.sample() every `every` s on a thread; keeps each sample with its time."""

    def __init__(self, router, every, path):
        self.router, self.every, self.path = router, every, path
        self.samples, self.stop_ev = [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        f = open(self.path, "w")
        nxt = time.monotonic()
        while not self.stop_ev.is_set():
            t0 = time.monotonic()
            s = self.router.sample()
            t1 = time.monotonic()
            s.update(t=round(t0, 4), dt=round(t1 - t0, 4),
                     count=s["v4"] + s["v6"] if s["v4"] is not None and s["v6"] is not None else None)
            self.samples.append(s)
            f.write(json.dumps(s) + "\n")
            nxt = max(nxt + self.every, t1)
            self.stop_ev.wait(max(0.0, nxt - time.monotonic()))
        f.close()

    def finish(self):
        self.stop_ev.set()
        self.thread.join()
        return self.samples


def events(path):
    try:
        return [json.loads(l) for l in open(path)]
    except (OSError, ValueError):
        return []


def sieve_up(logfile, t0_wall):
    """Seconds from t0_wall (time.time()) to bgpsieve's log line saying its router side is
    Established, or NA."""
    try:
        for l in open(logfile, errors="replace"):
            if "session established" in l and "side=router" in l:
                ts = datetime.strptime(l.split()[0][:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
                return round(ts.replace(tzinfo=timezone.utc).timestamp() - t0_wall, 2)
    except (OSError, ValueError):
        pass
    return "NA"


def mb(kb):
    return round(kb / 1024, 1)


def git_commit():
    return sh(["git", "-C", HERE, "rev-parse", "--short", "HEAD"]).strip() or "?"


def run_router(kind, args, data, meta, stamp):
    label = f"gr-{kind}-{args.n}" + (f"-v6{args.v6}" if args.v6 else "")
    rundir = f"/tmp/bgpbench/runs/{label}-{stamp}"
    os.makedirs(rundir)
    log(f"{kind}: run dir {rundir}")
    a = addresses(ROUTERS[kind].base)
    router = ROUTERS[kind](rundir, a)
    # copies: what ran, even if the repository is rebuilt meanwhile
    for f in ("gr_neighbor.py", "bgp.py"):
        shutil.copy(os.path.join(HERE, f), rundir)
    sieve_bin = shutil.copy(args.bgpsieve, os.path.join(rundir, "bgpsieve"))
    open(f"{rundir}/bgpsieve.toml", "w").write(sieve_conf(rundir, a))
    phase_file = f"{rundir}/phase"
    open(phase_file, "w").write("0\n")
    procs, rows = [], []
    common = {"date": stamp, "router": kind, "n": meta["n"], "n6": meta.get("n6", 0) if args.v6 else 0,
              "withdraw": args.withdraw, "commit": args.commit, "rundir": rundir}

    def spawn(name, cmd, env=None):
        p = subprocess.Popen(cmd, stdout=open(f"{rundir}/{name}.log", "w"), stderr=subprocess.STDOUT,
                             start_new_session=True, env=env)
        procs.append((name, p))
        return p

    starts = [0]

    def start_sieve():
        starts[0] += 1
        env = dict(os.environ, BGPSIEVE_LOG=args.sieve_log)
        return spawn(f"bgpsieve-{starts[0]}", [sieve_bin, "run", "--config", f"{rundir}/bgpsieve.toml"], env)

    def wait(what, pred, timeout, every=0.1):
        end = time.monotonic() + timeout
        while True:
            for name, p in procs:
                if p.poll() is not None:
                    raise Failed(f"{name} exited (rc {p.returncode}) while waiting for {what}; see {rundir}")
            v = pred()
            if v:
                return time.monotonic()
            if time.monotonic() > end:
                raise Failed(f"timed out after {timeout}s waiting for {what}: router {router.sample()}")
            time.sleep(every)

    try:
        rp = spawn("router", router.cmd())
        wait("the router", router.ready, 30)
        router_version = router.version()
        common["router_version"] = router_version
        spawn("neighbor", [sys.executable, os.path.join(rundir, "gr_neighbor.py"),
                           "--listen", f"{a['neighbor']}:{a['neighbor_port']}", "--peer", a["sieve"],
                           "--asn", str(NEIGHBOR_AS), "--updates", os.path.join(data, "updates.bin"),
                           "--withdraw", str(args.withdraw), "--withdraw-v6", str(args.withdraw_v6),
                           "--sets", "2", "--restart-time", str(RESTART_TIME),
                           "--sets-out", f"{rundir}/sets.json", "--phase-file", phase_file,
                           "--events", f"{rundir}/neighbor-events.jsonl"] + (["--v6"] if args.v6 else []))
        wait("the neighbor's withdrawn sets", lambda: os.path.exists(f"{rundir}/sets.json"), 300, 0.5)
        sets = json.load(open(f"{rundir}/sets.json"))
        w = [{"v4": len(s["v4"]), "v6": len(s["v6"])} for s in sets["sets"]]

        def holds(t):
            """The router holds exactly table t, Established, and is no longer helping a restart."""
            s = router.sample()
            return s["v4"] == t["v4"] and s["v6"] == t["v6"] and s["up"] and s["gr"] is not True

        full = {"v4": meta["n"], "v6": meta.get("n6", 0) if args.v6 else 0}
        t0 = time.monotonic()
        sieve = start_sieve()
        t_load = wait(f"the router to hold the table ({full})", lambda: holds(full), args.timeout, 0.5)
        load_s = round(t_load - t0, 1)
        log(f"{kind}: the router holds {full}, {load_s}s after bgpsieve started")
        time.sleep(args.settle)
        walk0 = router.walk_count()
        open(f"{rundir}/router-0.txt", "w").write(router.info())
        before = full
        for rnd, sig in enumerate(("SIGTERM", "SIGKILL"), 1):
            after = {f: before[f] - w[rnd - 1][f] for f in before}
            tot = lambda t: t["v4"] + t["v6"]
            row = dict(common, round=rnd, stop=sig, table_before=tot(before), table_after=tot(after),
                       load_s=load_s, status="ok", walk_count_before=walk0 if walk0 is not None else "NA")
            rows.append(row)
            sampler = Sampler(router, args.poll, f"{rundir}/samples-{rnd}.jsonl")
            try:
                time.sleep(1.0)
                open(phase_file, "w").write(f"{rnd}\n")
                pids = tree(sieve.pid)
                row["sieve_hwm_prev_mb"] = mb(status_kb(pids, "VmHWM"))
                t_sig, t_sig_wall = time.monotonic(), time.time()
                os.kill(sieve.pid, signal.SIGTERM if sig == "SIGTERM" else signal.SIGKILL)
                try:
                    sieve.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    row["status"] = "bgpsieve did not exit within 60 s of SIGTERM"
                    os.kill(sieve.pid, signal.SIGKILL)
                    sieve.wait()
                t_exit = time.monotonic()
                # reaped: never signal that PID again (it may be reused)
                procs.remove((f"bgpsieve-{starts[0]}", sieve))
                time.sleep(args.gap)
                t_start = time.monotonic()
                sieve = start_sieve()
                wait(f"the router to hold {after}, Established, restart over", lambda: holds(after),
                     args.timeout, 0.2)
                time.sleep(args.settle)
            finally:
                samples = sampler.finish()
            pids = tree(sieve.pid)
            row.update(sieve_rss_mb=mb(status_kb(pids, "VmRSS")), sieve_hwm_mb=mb(status_kb(pids, "VmHWM")),
                       router_rss_mb=mb(status_kb(tree(rp.pid), "VmRSS")))
            walk0 = router.walk_count()
            row["walk_count"] = walk0 if walk0 is not None else "NA"
            open(f"{rundir}/router-{rnd}.txt", "w").write(router.info())
            # The samples, per family: the fewest routes seen (never below the table minus the new
            # set, or a route that did not change was removed); those taken before the neighbor had
            # handed that family's End-of-RIB to the kernel (all of the table: nothing may have
            # gone yet); the first drop (the stale routes going); the first sample at the table
            # minus the set in both families (stale routes cleared).
            ok = [s for s in samples if s["count"] is not None]
            ts = [s["t"] for s in samples]
            rel = lambda t: round(t - t_sig, 2) if t is not None else "NA"
            since0 = next((s["since"] for s in samples if s["t"] < t_sig and s["since"]), None)
            ev = [e for e in events(f"{rundir}/neighbor-events.jsonl") if e["t"] > t_sig]
            evt = lambda kind_: next((e["t"] for e in ev if e["event"] == kind_), None)
            n_up, sent = evt("established"), {"v4": evt("sent_v4"), "v6": evt("sent")}
            first_clean = next((s["t"] for s in ok if s["t"] > t_sig and s["v4"] == after["v4"]
                                and s["v6"] == after["v6"]), None)
            down = next((s["t"] for s in samples if s["t"] > t_sig and not s["up"]), None)
            reup = next((s["t"] for s in samples if s["t"] > t_sig and s["up"] and s["since"] != since0), None)
            gr_on = next((s["t"] for s in samples if s["t"] > t_sig and s["gr"]), None)
            gr_off = next((s["t"] for s in samples if gr_on and s["t"] > gr_on and s["gr"] is False), None)
            mn = min(s["count"] for s in ok) if ok else None
            row.update(
                samples=len(samples), max_gap_s=round(max(y - x for x, y in zip(ts, ts[1:])), 3) if len(ts) > 1 else "NA",
                min_count=mn if mn is not None else "NA",
                exit_s=rel(t_exit), start_s=rel(t_start), router_down_s=rel(down), reestablished_s=rel(reup),
                sieve_router_up_s=sieve_up(f"{rundir}/bgpsieve-{starts[0]}.log", t_sig_wall),
                neighbor_up_s=rel(n_up), eor_sent_v4_s=rel(sent["v4"]), eor_sent_v6_s=rel(sent["v6"]),
                cleanup_s=rel(first_clean), gr_end_s=rel(gr_off),
                final_count=ok[-1]["count"] if ok else "NA")
            bad = []
            for f in ("v4", "v6"):
                fo = [s for s in ok if s[f] is not None]
                mf = min(s[f] for s in fo) if fo else None
                pre = [s[f] for s in fo if sent[f] is None or s["t"] < sent[f]]
                drop = next((s["t"] for s in fo if s[f] < before[f]), None)
                row.update({f"min_{f}": mf if mf is not None else "NA",
                            f"min_before_eor_{f}": min(pre) if pre else "NA",
                            f"first_drop_{f}_s": rel(drop)})
                if mf is None or mf < after[f]:
                    bad.append(f"{f}: {after[f] - mf if mf is not None else '?'} routes below the table minus the withdrawn set")
                if pre and min(pre) < before[f]:
                    bad.append(f"{f}: {before[f] - min(pre)} routes gone before the neighbor's End-of-RIB")
            if row["final_count"] != tot(after):
                bad.append(f"final count {row['final_count']} != {tot(after)}")
            if walk0 is not None and walk0 != tot(after):
                bad.append(f"routes in the router's tables {walk0} != {tot(after)}")
            # The withdrawn set, prefix by prefix (a sample), and the next set's, still announced.
            gone = sets["sets"][rnd - 1]
            probe = gone["v4"][:args.probe] + gone["v6"][:args.probe]
            present = [p for p in probe if router.has(p)]
            row["withdrawn_gone"] = f"{len(probe) - len(present)}/{len(probe)}"
            if rnd < len(sets["sets"]):
                nxt = sets["sets"][rnd]
                keep = nxt["v4"][:args.probe] + nxt["v6"][:args.probe]
            else:       # round 2: some prefixes never withdrawn (all of set 1 and 2 are gone)
                withdrawn = {p for s in sets["sets"] for p in s["v4"] + s["v6"]}
                keep = [p for p in open(os.path.join(data, "all.txt")).read().split()[:4 * args.probe]
                        if p not in withdrawn][:2 * args.probe]
            row["kept_present"] = f"{sum(1 for p in keep if router.has(p))}/{len(keep)}"
            if present:
                bad.append(f"withdrawn prefixes still at the router: {present[:5]}")
            if row["kept_present"].split("/")[0] != row["kept_present"].split("/")[1]:
                bad.append("announced prefixes missing at the router")
            if bad:
                row["status"] = "; ".join(bad)
            log(f"{kind} {sig}: " + " ".join(f"{k}={row.get(k)}" for k in FIELDS[7:-2]))
            before = after
        open(f"{rundir}/router-final.txt", "w").write(router.info())
    except (Failed, TimeoutError) as e:
        log(f"{kind}: FAILED: {e}")
        if not rows:
            rows.append(dict(common, round=0, stop="load"))
        rows[-1]["status"] = f"failed: {e}"
    finally:
        stop(procs)
        for name, p in procs:
            if name == "router":
                router.cleanup(p.pid)
        log(f"{kind}: stopped", ", ".join(f"{n}:{p.pid}" for n, p in procs))
    # What bgpsieve logged at WARN or ERROR, kept for the report.
    warn = []
    for k in range(1, starts[0] + 1):
        try:
            warn += [f"bgpsieve-{k}: {l}" for l in open(f"{rundir}/bgpsieve-{k}.log", errors="replace")
                     if re.search(r"\s(WARN|ERROR)\s", l)]
        except OSError:
            pass
    open(f"{rundir}/warnings.txt", "w").write("".join(warn))
    return rows


def markdown(rows):
    out = ["| router | stop | routes before → after | samples (largest gap s) | fewest routes seen "
           "| fewest before the neighbor's End-of-RIB, IPv4 / IPv6 | bgpsieve exited s "
           "| router session up again s | neighbor's End-of-RIB sent, IPv4 / IPv6 s "
           "| first drop, IPv4 / IPv6 s | stale routes cleared s | withdrawn gone (probed) | kept (probed) "
           "| bgpsieve RSS / peak MB | status |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g = lambda k: r.get(k, "NA")
        out.append(f"| {g('router')} {g('router_version')} | {g('stop')} | {g('table_before')} → {g('table_after')} "
                   f"| {g('samples')} ({g('max_gap_s')}) | {g('min_count')} "
                   f"| {g('min_before_eor_v4')} / {g('min_before_eor_v6')} | {g('exit_s')} "
                   f"| {g('sieve_router_up_s')} | {g('eor_sent_v4_s')} / {g('eor_sent_v6_s')} "
                   f"| {g('first_drop_v4_s')} / {g('first_drop_v6_s')} | {g('cleanup_s')} "
                   f"| {g('withdrawn_gone')} | {g('kept_present')} | {g('sieve_rss_mb')} / {g('sieve_hwm_mb')} "
                   f"| {g('status')} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("routers", nargs="*", metavar="ROUTER",
                    help="bird and/or frr (default both, one after the other)")
    ap.add_argument("--n", type=int, default=1000000, help="IPv4 routes (gen.py N)")
    ap.add_argument("--v6", type=int, default=200000, help="IPv6 routes (gen.py --v6 M); 0: none")
    ap.add_argument("--withdraw", type=int, default=1000, help="routes per withdrawn set")
    ap.add_argument("--withdraw-v6", type=int, default=200, help="of which IPv6")
    ap.add_argument("--poll", type=float, default=0.1, help="sampling interval, s")
    ap.add_argument("--gap", type=float, default=0.0, help="s between bgpsieve's exit and its start")
    ap.add_argument("--settle", type=float, default=3.0, help="s of samples after the table is complete")
    ap.add_argument("--timeout", type=float, default=900, help="s to wait for the router's table")
    ap.add_argument("--probe", type=int, default=25, help="withdrawn prefixes per family checked one by one")
    ap.add_argument("--sieve-log", default="info", help="BGPSIEVE_LOG")
    ap.add_argument("--bgpsieve", default=os.environ.get("BGPSIEVE_BIN")
                    or os.path.join(HERE, "../../target/release/bgpsieve"))
    ap.add_argument("--data", default="/tmp/bgpbench/data")
    ap.add_argument("--results", default=os.path.join(HERE, "results-gr.tsv"))
    args = ap.parse_args()
    args.commit = git_commit()
    routers = args.routers or ["bird", "frr"]
    if any(r not in ROUTERS for r in routers):
        ap.error(f"routers: {', '.join(ROUTERS)}")
    data = run.ensure_data(args.data, args.n, args.v6)
    meta = json.load(open(os.path.join(data, "meta.json")))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    for kind in routers:
        rows += run_router(kind, args, data, meta, stamp)
    new = not os.path.exists(args.results)
    with open(args.results, "a") as f:
        if new:
            f.write("\t".join(FIELDS) + "\n")
        for r in rows:
            f.write("\t".join(str(r.get(k, "NA")) for k in FIELDS) + "\n")
    md = markdown(rows)
    for kind in set(r["rundir"] for r in rows):
        open(f"{kind}/summary.md", "w").write(md)
    print(md)
    return 0 if all(r["status"] == "ok" for r in rows) else 2


if __name__ == "__main__":
    sys.exit(main())
