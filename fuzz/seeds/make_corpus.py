#!/usr/bin/env python3
"""Builds the seed corpora in fuzz/corpus/<target>/ from the project's test data.

Sources: BGP messages from pcaps (classic libpcap format; TCP to/from port 179 or 1179,
reassembled naively by sequence number) and from the BGP4MP records of MRT files; the first
records of each MRT file; small VRP/ASPA/SLURM/bgpq4/RPSL samples (big JSON files are cut down to
their first entries); hand-built RTR PDUs. Stdlib only. Re-running replaces the corpus.

Usage: fuzz/seeds/make_corpus.py [REPO_TESTDATA] [SHARED_TESTDATA]
"""
import bz2, gzip, hashlib, json, os, shutil, struct, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # fuzz/
REPO_TD = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "testdata"
SHARED_TD = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/work/shared/testdata")
OUT = HERE / "corpus"
LIMITS = {"bgp_codec": 40, "bgp_open": 60, "bgp_update": 200, "bgp_notification": 40,
          "rtr_pdu": 40, "json_loaders": 60, "mrt_input": 40}
MARKER = b"\xff" * 16
BGP_PORTS = {179, 1179}

corpus = {t: {} for t in LIMITS}


def add(target, data):
    if len(corpus[target]) >= LIMITS[target] or not data:
        return
    corpus[target].setdefault(hashlib.sha1(data).hexdigest(), data)


def read_maybe_compressed(p):
    raw = p.read_bytes()
    try:
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw)
        if raw[:3] == b"BZh":
            d = bz2.BZ2Decompressor()
            return d.decompress(raw)  # truncated streams: what was decoded so far
    except (OSError, EOFError, ValueError):
        return b""
    return raw


# ---------- pcap ----------
def pcap_packets(path):
    b = path.read_bytes()
    if len(b) < 24:
        return
    magic = b[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return  # pcapng: skipped
    linktype = struct.unpack(e + "I", b[20:24])[0]
    off = 24
    while off + 16 <= len(b):
        _, _, incl, _ = struct.unpack(e + "IIII", b[off:off + 16])
        off += 16
        yield linktype, b[off:off + incl]
        off += incl


def ip_payload(linktype, frame):
    if linktype == 1:  # Ethernet, with VLAN tags
        et, off = struct.unpack(">H", frame[12:14])[0], 14
        while et in (0x8100, 0x88A8) and len(frame) >= off + 4:
            et, off = struct.unpack(">H", frame[off + 2:off + 4])[0], off + 4
        return frame[off:] if et in (0x0800, 0x86DD) else None
    if linktype == 113:  # Linux cooked
        return frame[16:]
    if linktype == 276:  # Linux cooked v2
        return frame[20:]
    if linktype in (101, 12, 14):  # raw IP
        return frame
    if linktype == 0:  # BSD loopback
        return frame[4:]
    return None


def tcp_segment(ip):
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6:
            return None
        total = struct.unpack(">H", ip[2:4])[0]
        src, dst, tcp = ip[12:16], ip[16:20], ip[ihl:total]
    elif v == 6:
        if ip[6] != 6:
            return None  # extension headers: skipped
        plen = struct.unpack(">H", ip[4:6])[0]
        src, dst, tcp = ip[8:24], ip[24:40], ip[40:40 + plen]
    else:
        return None
    if len(tcp) < 20:
        return None
    sport, dport, seq = struct.unpack(">HHI", tcp[:8])
    doff = (tcp[12] >> 4) * 4
    return (src, sport, dst, dport), seq, tcp[doff:]


def pcap_streams(path):
    flows = {}
    for lt, frame in pcap_packets(path):
        seg = tcp_segment(ip_payload(lt, frame))
        if not seg:
            continue
        key, seq, payload = seg
        if payload and (key[1] in BGP_PORTS or key[3] in BGP_PORTS):
            flows.setdefault(key, {}).setdefault(seq, payload)
    for segs in flows.values():
        yield b"".join(segs[s] for s in sorted(segs))


def split_bgp(stream):
    """BGP messages found by marker + length (resyncs on the next marker after junk)."""
    i = stream.find(MARKER)
    while i >= 0 and i + 19 <= len(stream):
        ln = struct.unpack(">H", stream[i + 16:i + 18])[0]
        if 19 <= ln <= 65535 and i + ln <= len(stream):
            yield stream[i:i + ln]
            i = stream.find(MARKER, i + ln)
        else:
            i = stream.find(MARKER, i + 1)


def caps_ctl(open_body):
    """bgp_update control bits from an OPEN's capabilities: 4-octet AS, ADD-PATH receive."""
    ctl = 0
    if len(open_body) < 10:
        return ctl
    params = open_body[10:10 + open_body[9]]
    i = 0
    while i + 2 <= len(params):
        t, l = params[i], params[i + 1]
        v = params[i + 2:i + 2 + l]
        i += 2 + l
        if t != 2:
            continue
        j = 0
        while j + 2 <= len(v):
            c, cl = v[j], v[j + 1]
            cv = v[j + 2:j + 2 + cl]
            j += 2 + cl
            if c == 65:
                ctl |= 1
            if c == 69:
                for k in range(0, len(cv) - 3, 4):
                    afi, safi, mode = struct.unpack(">HBB", cv[k:k + 4])
                    if safi == 1 and mode & 1:
                        ctl |= 2 if afi == 1 else 4 if afi == 2 else 0
    return ctl


def add_messages(msgs, ctl, ebgp=True):
    for m in msgs:
        kind, body = m[18], m[19:]
        if kind == 1:
            add("bgp_open", body)
            ctl |= caps_ctl(body)
        elif kind == 2:
            add("bgp_update", bytes([ctl | (8 if ebgp else 0)]) + body)
        elif kind == 3:
            add("bgp_notification", body)


pcaps = sorted(SHARED_TD.glob("pcap/**/*.cap")) + sorted(SHARED_TD.glob("pcap/**/*.pcap"))
for p in pcaps:
    for stream in pcap_streams(p):
        msgs = list(split_bgp(stream))
        if not msgs:
            continue
        add("bgp_codec", bytes([0x20]) + stream[:4096])
        add("bgp_codec", bytes([0x01]) + b"".join(msgs[:8]))
        add_messages(msgs, 0)


# ---------- MRT ----------
def mrt_records(data, n):
    off, out = 0, []
    while off + 12 <= len(data) and len(out) < n:
        ln = struct.unpack(">I", data[off + 8:off + 12])[0]
        if off + 12 + ln > len(data):
            break
        out.append(data[off:off + 12 + ln])
        off += 12 + ln
    return out


mrts = sorted(REPO_TD.glob("mrt/**/*")) + sorted(SHARED_TD.glob("mrt/lab/*")) + \
    sorted(SHARED_TD.glob("incidents/**/*"))
for p in mrts:
    if not p.is_file() or p.suffix in (".md", ".csv", ".txt", ".json") or ".csv" in p.name:
        continue
    data = read_maybe_compressed(p)[:4 << 20]
    recs = mrt_records(data, 400)
    if not recs:
        continue
    # the first records (a PEER_INDEX_TABLE comes first in a TDv2 RIB)
    add("mrt_input", b"".join(recs[:12])[:16384])
    for r in recs:
        typ, sub = struct.unpack(">HH", r[4:8])
        if typ in (16, 17):  # BGP4MP(_ET): the BGP message follows the peer header
            as4 = sub in (4, 5, 6, 7)
            add_messages(split_bgp(r), 1 if as4 else 0)
# a few single records of each kind
seen = set()
for p in mrts:
    if p.is_file() and p.suffix not in (".md", ".csv", ".txt", ".json"):
        for r in mrt_records(read_maybe_compressed(p)[:1 << 20], 2000):
            k = r[4:8]
            if k not in seen:
                seen.add(k)
                add("mrt_input", r)

# ---------- hand-made BGP ----------
for body in [b"\x06\x02", b"\x06\x04", b"\x06\x02\x05shut!", b"\x06\x04\x0bmaintenance",
             b"\x06\x09\x06\x02\x00", b"\x01\x02\x00\x13", b"\x02\x02\xfd\xe8", b"\x03\x0b"]:
    add("bgp_notification", body)
add("bgp_update", b"\x00" + b"\x00\x00\x00\x00")  # IPv4 End-of-RIB
add("bgp_update", b"\x01" + b"\x00\x00\x00\x06\x80\x0f\x03\x00\x02\x01")  # IPv6 End-of-RIB
add("bgp_codec", b"\x00" + MARKER + b"\x00\x13\x04" + MARKER + b"\x00\x17\x05\x00\x01\x00\x01")


# ---------- RTR ----------
def pdu(ver, typ, field, body):
    return struct.pack(">BBHI", ver, typ, field, 8 + len(body)) + body


rtr = []
for v in (0, 1, 2):
    rtr += [
        pdu(v, 0, 7, struct.pack(">I", 42)),                  # Serial Notify
        pdu(v, 1, 7, struct.pack(">I", 42)),                  # Serial Query
        pdu(v, 2, 0, b""),                                    # Reset Query
        pdu(v, 3, 7, b""),                                    # Cache Response
        pdu(v, 4, 0, bytes([1, 24, 24, 0, 192, 0, 2, 0]) + struct.pack(">I", 64500)),
        pdu(v, 6, 0, bytes([1, 48, 64, 0]) + bytes.fromhex("20010db8" + "00" * 12)
            + struct.pack(">I", 64501)),
        pdu(v, 7, 7, struct.pack(">I", 43) if v == 0 else struct.pack(">IIII", 43, 3600, 600, 7200)),
        pdu(v, 8, 0, b""),                                    # Cache Reset
        pdu(v, 10, 2, struct.pack(">I", 8) + pdu(v, 2, 0, b"") + struct.pack(">I", 5) + b"oops!"),
    ]
    if v >= 1:
        rtr.append(pdu(v, 9, 1 << 8, b"\x11" * 20 + struct.pack(">I", 64500) + b"\x30\x00"))
    if v == 2:
        rtr.append(pdu(v, 11, 1 << 8, struct.pack(">III", 64500, 64501, 64502)))  # current
        rtr.append(pdu(v, 11, 0, struct.pack(">I", 64500)))                       # withdraw
        rtr.append(pdu(v, 11, 0, bytes([1, 0]) + struct.pack(">HII", 1, 64500, 64501)))  # draft
for i, r in enumerate(rtr):
    add("rtr_pdu", bytes([i % 3]) + r)
add("rtr_pdu", b"\x00" + b"".join(rtr[:9]))  # a v0 session: a whole exchange in one stream
add("rtr_pdu", b"\x02" + b"".join(rtr[-13:]))


# ---------- JSON / RPSL ----------
def shrink(obj, n=20):
    if isinstance(obj, list):
        return [shrink(x, n) for x in obj[:n]]
    if isinstance(obj, dict):
        return {k: shrink(v, n) for k, v in obj.items()}
    return obj


LOADER = {"vrp": 0, "aspa": 1, "slurm": 2, "irr": 3}
jsons = sorted(REPO_TD.glob("vrps/*")) + sorted(REPO_TD.glob("incidents/*.json")) + \
    sorted(SHARED_TD.glob("vrps/*.json*"))
for p in jsons:
    data = read_maybe_compressed(p)
    try:
        obj = json.loads(data)
    except ValueError:
        continue
    text = json.dumps(shrink(obj), indent=1).encode() if len(data) > 16384 else data
    if "slurm" in p.name or "rfc8416" in p.name or (isinstance(obj, dict) and "slurmVersion" in obj):
        add("json_loaders", bytes([LOADER["slurm"]]) + text)
    else:
        add("json_loaders", bytes([LOADER["vrp"]]) + text)
        if b"aspa" in text or b"provider_authorizations" in text:
            add("json_loaders", bytes([LOADER["aspa"]]) + text)
for p in sorted(REPO_TD.glob("irr/**/*")) + sorted(SHARED_TD.glob("irr/**/*.txt")):
    if p.is_file():
        data = read_maybe_compressed(p)
        add("json_loaders", bytes([LOADER["irr"]]) + data[:4096])


# ---------- write ----------
if OUT.exists():
    shutil.rmtree(OUT)
total = 0
for t, files in corpus.items():
    d = OUT / t
    d.mkdir(parents=True)
    for h, data in files.items():
        (d / h).write_bytes(data)
        total += len(data)
    print(f"{t:18} {len(files):4} files")
print(f"total {total} bytes")
