#!/usr/bin/env python3
"""The neighbor of the graceful-restart benchmark (graceful_restart.py): a passive BGP speaker
that sends its whole table again on every new session, as a neighbor does when bgpsieve, the
restarting side, comes back.

It listens on --listen and accepts only --peer. On every session: OPEN (4-octet AS, MP IPv4
unicast, + IPv6 unicast with --v6, route refresh, and Graceful Restart, RFC 4724: restart time
--restart-time, no R bit, each family with F=1: it is a helper here, nothing restarts on its
side), then the pre-encoded UPDATE file (gen.py's updates.bin: the IPv4 routes, the IPv4
End-of-RIB, the IPv6 routes, the IPv6 End-of-RIB) as fast as TCP allows, minus the UPDATEs of
the withdrawn sets in force, then KEEPALIVEs every 30 s until the session ends (it then waits
for the next one) or SIGTERM.

Withdrawn sets ("routes that changed meanwhile"): --sets K sets of --withdraw N prefixes each
(N6 = --withdraw-v6 of them IPv6), whole UPDATE messages chosen at spread positions (seeded,
never an End-of-RIB), disjoint. They are written to --sets-out (JSON: per set, the prefixes of
each family). The sets in force are 1..P, P read from --phase-file (an integer, 0 if missing)
when a session comes up: the orchestrator raises it before it restarts bgpsieve, so the new
session carries the table minus the routes withdrawn "while bgpsieve was down".

Events go to --events (JSON lines, CLOCK_MONOTONIC, comparable with the orchestrator's clock):
listening, established (with the phase and the routes to send), sent_v4 (the IPv4 routes and the
IPv4 End-of-RIB handed to the kernel), sent (the whole table and the IPv6 End-of-RIB), closed
(with the reason)."""
import argparse, json, os, random, signal, socket, struct, threading, time
import bgp

ap = argparse.ArgumentParser()
ap.add_argument("--listen", required=True, help="ip:port to listen on")
ap.add_argument("--peer", required=True, help="the only address accepted (bgpsieve)")
ap.add_argument("--asn", type=int, default=64601)
ap.add_argument("--router-id", default=None, help="default: the listen address")
ap.add_argument("--updates", required=True)
ap.add_argument("--v6", action="store_true")
ap.add_argument("--hold", type=int, default=90)
ap.add_argument("--restart-time", type=int, default=120)
ap.add_argument("--sets", type=int, default=2)
ap.add_argument("--withdraw", type=int, default=1000, help="prefixes per withdrawn set (both families)")
ap.add_argument("--withdraw-v6", type=int, default=200, help="of which IPv6 (with --v6)")
ap.add_argument("--seed", type=int, default=12)
ap.add_argument("--sets-out", required=True)
ap.add_argument("--phase-file", required=True)
ap.add_argument("--events", required=True)
args = ap.parse_args()

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
events = open(args.events, "a")
ev_lock = threading.Lock()


def event(kind, **kw):
    with ev_lock:
        events.write(json.dumps({"t": time.monotonic(), "event": kind, **kw}) + "\n")
        events.flush()
    bgp.log("neighbor:", kind, kw)


def prefixes(data, afi):
    """The NLRI in `data` as strings."""
    out, i = [], 0
    alen = 4 if afi == 1 else 16
    while i < len(data):
        ln = data[i]
        nb = (ln + 7) // 8
        raw = data[i + 1:i + 1 + nb] + bytes(alen - nb)
        fam = socket.AF_INET if afi == 1 else socket.AF_INET6
        out.append(f"{socket.inet_ntop(fam, raw)}/{ln}")
        i += 1 + nb
    return out


def parse(body):
    """(afi, prefixes announced) of one UPDATE body; afi None for an End-of-RIB or anything
    announcing nothing."""
    wl = struct.unpack_from("!H", body, 0)[0]
    al = struct.unpack_from("!H", body, 2 + wl)[0]
    attrs = body[4 + wl:4 + wl + al]
    nlri = body[4 + wl + al:]
    if nlri:
        return 1, prefixes(nlri, 1)
    i = 0
    while i < len(attrs):
        flags, code = attrs[i], attrs[i + 1]
        if flags & 0x10:
            ln, hl = struct.unpack_from("!H", attrs, i + 2)[0], 4
        else:
            ln, hl = attrs[i + 2], 3
        val = attrs[i + hl:i + hl + ln]
        if code == 14:                          # MP_REACH_NLRI
            afi = struct.unpack_from("!H", val, 0)[0]
            nhl = val[3]
            return afi, prefixes(val[5 + nhl:], afi)
        i += hl + ln
    return None, []


data = open(args.updates, "rb").read()
msgs, i = [], 0                                 # (start, end, afi, prefixes)
while i < len(data):
    ln = struct.unpack_from("!H", data, i + 16)[0]
    afi, pfx = parse(data[i + 19:i + ln]) if data[i + 18] == bgp.UPDATE else (None, [])
    msgs.append((i, i + ln, afi, pfx))
    i += ln
total = {1: sum(len(m[3]) for m in msgs if m[2] == 1), 2: sum(len(m[3]) for m in msgs if m[2] == 2)}

# Withdrawn sets: whole UPDATEs, visited in a seeded random order, taken while they fit the
# family's remaining quota; many UPDATEs carry 1-3 prefixes, so the quotas are met exactly.
rng = random.Random(args.seed)
order = [k for k, m in enumerate(msgs) if m[2] is not None]
rng.shuffle(order)
taken, sets = set(), []
want6 = args.withdraw_v6 if args.v6 and total[2] else 0
for s in range(args.sets):
    left = {1: args.withdraw - want6, 2: want6}
    chosen = []
    for k in order:
        if k in taken:
            continue
        afi, n = msgs[k][2], len(msgs[k][3])
        if 0 < n <= left[afi]:
            chosen.append(k)
            taken.add(k)
            left[afi] -= n
            if not left[1] and not left[2]:
                break
    if left[1] or left[2]:
        raise SystemExit(f"could not make withdrawn set {s + 1}: {left} prefixes short")
    sets.append(sorted(chosen))
json.dump({"total_v4": total[1], "total_v6": total[2], "sets": [
    {"v4": [p for k in ch if msgs[k][2] == 1 for p in msgs[k][3]],
     "v6": [p for k in ch if msgs[k][2] == 2 for p in msgs[k][3]],
     "updates": len(ch)} for ch in sets]}, open(args.sets_out + ".tmp", "w"))
os.rename(args.sets_out + ".tmp", args.sets_out)


# The IPv4 End-of-RIB (an empty UPDATE) ends the IPv4 part of the stream; the IPv6 part follows.
eor4 = next((k for k, m in enumerate(msgs) if data[m[0] + 18] == bgp.UPDATE and m[1] - m[0] == 23), len(msgs) - 1)


def table(phase):
    """The UPDATE stream with sets 1..phase left out, as (IPv4 part up to and with its End-of-RIB,
    the rest), and how many routes it announces."""
    skip = set().union(*sets[:phase]) if phase else set()
    keep = [k for k in range(len(msgs)) if k not in skip]
    part = lambda ks: b"".join(data[msgs[k][0]:msgs[k][1]] for k in ks)
    return (part(k for k in keep if k <= eor4), part(k for k in keep if k > eor4),
            sum(len(msgs[k][3]) for k in keep))


def read_phase():
    try:
        return min(int(open(args.phase_file).read().strip() or 0), len(sets))
    except (OSError, ValueError):
        return 0


# Graceful Restart capability (code 64): flags 0 (no R, no N) + restart time, then per family
# AFI, SAFI, flags 0x80 (F: forwarding state preserved).
fams = [(1, 1)] + ([(2, 1)] if args.v6 else [])
gr_val = struct.pack("!H", args.restart_time & 0x0FFF) + b"".join(struct.pack("!HBB", a, s, 0x80) for a, s in fams)
gr_cap = bytes([64, len(gr_val)]) + gr_val
router_id = args.router_id or args.listen.rsplit(":", 1)[0]
current = {"sock": None}
cur_lock = threading.Lock()


def session(sock, n):
    """One session: handshake, table, keepalives, until it ends."""
    buf = bytearray()
    lock = threading.Lock()
    try:
        sock.sendall(bgp.open_msg(args.asn, router_id, hold=args.hold, v6=args.v6, extra_caps=gr_cap))
        while True:
            t, body = bgp.read_msg(sock, buf)
            if t == bgp.OPEN:
                break
            if t == bgp.NOTIFICATION:
                raise ConnectionError(f"NOTIFICATION {body[0]}/{body[1]} before OPEN")
        hold = struct.unpack_from("!H", body, 3)[0]
        sock.sendall(bgp.msg(bgp.KEEPALIVE))
        while True:
            t, body = bgp.read_msg(sock, buf)
            if t == bgp.KEEPALIVE:
                break
            if t == bgp.NOTIFICATION:
                raise ConnectionError(f"NOTIFICATION {body[0]}/{body[1]} {body[2:].decode(errors='replace')}")
        phase = read_phase()
        part4, rest, routes = table(phase)
        event("established", session=n, phase=phase, routes=routes, hold=hold)
        done = threading.Event()

        def keepalives():
            every = max(1, min(30, (hold or 90) // 3))
            while not done.wait(every):
                try:
                    with lock:
                        sock.sendall(bgp.msg(bgp.KEEPALIVE))
                except OSError:
                    return
        threading.Thread(target=keepalives, daemon=True).start()
        t0 = time.monotonic()
        with lock:
            sock.sendall(part4)
        event("sent_v4", session=n, phase=phase, bytes=len(part4), seconds=round(time.monotonic() - t0, 3))
        with lock:
            sock.sendall(rest)
        event("sent", session=n, phase=phase, routes=routes, bytes=len(part4) + len(rest),
              seconds=round(time.monotonic() - t0, 3))
        try:
            while True:
                t, body = bgp.read_msg(sock, buf)
                if t == bgp.NOTIFICATION:
                    raise ConnectionError(
                        f"NOTIFICATION {body[0]}/{body[1]} {body[2:].decode(errors='replace')}")
        finally:
            done.set()
    except (OSError, ConnectionError) as e:
        event("closed", session=n, reason=str(e))
    finally:
        sock.close()


ip, port = args.listen.rsplit(":", 1)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((ip, int(port)))
ls.listen(4)
ls.settimeout(0.2)
event("listening", routes_v4=total[1], routes_v6=total[2],
      sets=[len(s) for s in sets], messages=len(msgs))
n = 0
while not stop.is_set():
    try:
        sock, addr = ls.accept()
    except socket.timeout:
        continue
    if addr[0] != args.peer:
        sock.close()
        continue
    sock.settimeout(None)
    n += 1
    with cur_lock:                  # a new session replaces the old one (RFC 4724 §4.2)
        if current["sock"] is not None:
            try:
                current["sock"].shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        current["sock"] = sock
    threading.Thread(target=session, args=(sock, n), daemon=True).start()
ls.close()
with cur_lock:
    if current["sock"] is not None:
        try:
            current["sock"].close()
        except OSError:
            pass
