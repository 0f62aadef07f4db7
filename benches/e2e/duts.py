"""Devices under test. Each DUT: eBGP (passive) from the blaster, eBGP (active)
to the sink, import policy = reject RPKI-ROV-Invalid (VRPs over RTR from
stayrtr) plus a max-prefix limit, export everything accepted to the sink.

To add a DUT (e.g. the team's daemon): subclass Dut, write its config in
start(), and implement vrps() / rib() from its CLI or API (return None if
unknown; then only the end-to-end time is measured). Register it in DUTS.
"""
import json, os, re, subprocess

BLASTER, BLASTER_AS = "127.0.0.10", 64601
DUT_IP, DUT_PORT, DUT_AS = "127.0.0.11", 1790, 64700
SINK_IP, SINK_PORT, SINK_AS = "127.0.0.12", 1791, 64602
RTR_IP, RTR_PORT = "127.0.0.13", 3323
MAX_PREFIX = 2_000_000
# With --v6 (run.py): the DUT's own IPv6 next hop towards the sink where it rewrites
# next hops (BIRD, eBGP). The sessions run over IPv4, so there is no IPv6 session
# address to take it from. Only an attribute value, like gen.py's next hops.
DUT_NH6 = "2a00:1:2::11"


def sh(cmd, timeout=10):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        return ""


class Dut:
    name = "?"
    uses_rtr = True
    supports_v6 = False     # the DUT's config carries IPv6 unicast when self.v6 is set
    v6 = False              # set by run.py (--v6 M): the data has IPv6 routes too
    # Extra lines for the blaster's session in the DUT's config (flap.py: fast restarts after
    # the neighbor drops the session). Empty for run.py.
    blaster_extra = ""

    def __init__(self, rundir, rov=True, max_prefix=True, sanity=False):
        self.dir = rundir
        self.rov = rov          # False: accept everything (measures the cost of ROV itself)
        # True (run.py --sanity): BIRD also drops bogon prefixes, prefix lengths outside /8-/24
        # (IPv6 /16-/48) and reserved ASNs in the path (private ASNs allowed, as the synthetic
        # data uses them): the checks bgpsieve runs by default, for a like-for-like comparison.
        self.sanity = sanity
        self.max_prefix = MAX_PREFIX if max_prefix else None

    def path(self, f):
        return os.path.join(self.dir, f)

    def start(self):
        """Write config, start the daemon in the foreground; return Popen."""
        raise NotImplementedError

    def vrps(self):
        """Number of VRPs the DUT holds (None = unknown)."""
        return None

    def vrps_expected(self, meta, data):
        """What vrps() reports once every VRP is loaded."""
        return meta["vrps"]

    def rib(self):
        """Routes from the blaster accepted into the DUT's RIB (None = unknown)."""
        return None

    def version(self):
        return "?"

    def final(self):
        """CLI output worth keeping after the run (written to dut-final.txt)."""
        return ""


class NoDut(Dut):
    """Baseline: the blaster talks straight to the sink; nothing is filtered."""
    name, uses_rtr, supports_v6 = "none", False, True


# bgpsieve's default bogon lists (src/policy/bogon.rs) in BIRD's syntax; ASNs with
# allow_private_asn = true (the private ranges 64512-65534 and 4200000000-4294967294 pass).
BIRD_BOGONS_V4 = ("0.0.0.0/8+, 10.0.0.0/8+, 100.64.0.0/10+, 127.0.0.0/8+, 169.254.0.0/16+, "
                  "172.16.0.0/12+, 192.0.0.0/24+, 192.0.2.0/24+, 192.88.99.0/24+, 192.168.0.0/16+, "
                  "198.18.0.0/15+, 198.51.100.0/24+, 203.0.113.0/24+, 224.0.0.0/4+, 240.0.0.0/4+")
BIRD_BOGONS_V6 = ("2001::/32+, 2001:2::/48+, 2001:10::/28+, 2001:db8::/32+, 2002::/16+, "
                  "3ffe::/16+, 3fff::/20+")
BIRD_BOGON_ASNS = "0, 23456, 64496..64511, 65535..131071, 4294967295"


def bird_sanity(v6):
    """The filter lines of --sanity for one family."""
    if v6:
        return (f"if net ~ [{BIRD_BOGONS_V6}] then reject; "
                "if !(net ~ [2000::/3+]) then reject; "
                "if net.len < 16 || net.len > 48 then reject; "
                f"if bgp_path ~ [= * [{BIRD_BOGON_ASNS}] * =] then reject;")
    return (f"if net ~ [{BIRD_BOGONS_V4}] then reject; "
            "if net.len < 8 || net.len > 24 then reject; "
            f"if bgp_path ~ [= * [{BIRD_BOGON_ASNS}] * =] then reject;")


class Bird(Dut):
    name = "bird"
    supports_v6 = True

    def start(self):
        sanity4 = bird_sanity(False) if self.sanity else ""
        sanity6 = bird_sanity(True) if self.sanity else ""
        limit = f"import limit {self.max_prefix} action disable;" if self.max_prefix else ""
        # IPv6 (--v6): the same policy in an ipv6 channel on both (IPv4) sessions. The
        # blaster's IPv6 next hop (2001:db8::1, see gen.py) resolves via the static route;
        # towards the sink BIRD sets next hop self, which over an IPv4 session needs an
        # explicit IPv6 address.
        v6 = f"""
protocol static {{ ipv6; route 2001:db8::/32 via "lo"; }}
roa6 table r6;
filter rov_in6 {{
    {sanity6}
    {"if roa_check(r6, net, bgp_path.last) = ROA_INVALID then reject;" if self.rov else ""}
    accept;
}}""" if self.v6 else ""
        ch6_in = (f"ipv6 {{ import filter rov_in6; {limit} export none; next hop address {DUT_NH6}; }};"
                  if self.v6 else "")
        ch6_out = (f"ipv6 {{ import none; export where source = RTS_BGP; next hop address {DUT_NH6}; }};"
                   if self.v6 else "")
        cfg = f"""
log "{self.path('bird.log')}" {{ info, remote, warning, error, auth, fatal, bug }};
router id {DUT_IP};
protocol device {{ }}
# BIRD refuses "direct" eBGP neighbors on the loopback interface, so both
# sessions are multihop and the routes' NEXT_HOP (192.0.2.1, see gen.py)
# resolves recursively via this route. No kernel protocol: nothing leaves BIRD.
protocol static {{ ipv4; route 192.0.2.0/24 via "lo"; }}
roa4 table r4;{v6}
protocol rpki rtr1 {{
    roa4 {{ table r4; }};{" roa6 { table r6; };" if self.v6 else ""}
    remote {RTR_IP} port {RTR_PORT};
}}
filter rov_in {{
    {sanity4}
    {"if roa_check(r4, net, bgp_path.last) = ROA_INVALID then reject;" if self.rov else ""}
    accept;
}}
protocol bgp blaster {{
    local {DUT_IP} port {DUT_PORT} as {DUT_AS};
    neighbor {BLASTER} as {BLASTER_AS};
    passive on;
    multihop 2;
    hold time 240;
    ipv4 {{ import filter rov_in; {limit} export none; }};
    {ch6_in}{self.blaster_extra}
}}
protocol bgp sink {{
    local {DUT_IP} port {DUT_PORT} as {DUT_AS};
    neighbor {SINK_IP} port {SINK_PORT} as {SINK_AS};
    multihop 2;
    connect delay time 1;
    connect retry time 2;
    hold time 240;
    ipv4 {{ import none; export where source = RTS_BGP; }};
    {ch6_out}
}}
"""
        open(self.path("bird.conf"), "w").write(cfg)
        self.sock = self.path("bird.ctl")
        return subprocess.Popen(["bird", "-f", "-c", self.path("bird.conf"), "-s", self.sock,
                                 "-P", self.path("bird.pid")],
                                stdout=open(self.path("dut.out"), "w"), stderr=subprocess.STDOUT,
                                start_new_session=True)

    def _routes(self, proto):
        """Imported routes, summed over the protocol's channels (ipv4 + ipv6, roa4 + roa6)."""
        m = re.findall(r"Routes:\s+(\d+) imported", sh(["birdc", "-s", self.sock, "show", "protocols", "all", proto]))
        return sum(map(int, m)) if m else None

    def vrps(self):
        return self._routes("rtr1")

    def rib(self):
        return self._routes("blaster")

    def version(self):
        return sh(["bird", "--version"]).strip()

    def final(self):
        return sh(["birdc", "-s", self.sock, "show", "protocols", "all"]) + sh(
            ["birdc", "-s", self.sock, "show", "memory"])


class GoBgp(Dut):
    name = "gobgp"
    API = f"{DUT_IP}:50051"

    def start(self):
        limit = (f"    [neighbors.afi-safis.prefix-limit.config]\n      max-prefixes = {self.max_prefix}"
                 if self.max_prefix else "")
        cfg = f"""
[global.config]
  as = {DUT_AS}
  router-id = "{DUT_IP}"
  port = {DUT_PORT}
  local-address-list = ["{DUT_IP}"]
[global.apply-policy.config]
  import-policy-list = [{'"rov"' if self.rov else ""}]
  default-import-policy = "accept-route"
  default-export-policy = "accept-route"

[[rpki-servers]]
  [rpki-servers.config]
    address = "{RTR_IP}"
    port = {RTR_PORT}

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{BLASTER}"
    peer-as = {BLASTER_AS}
  [neighbors.timers.config]
    hold-time = 240
  [neighbors.transport.config]
    passive-mode = true
    local-address = "{DUT_IP}"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
{limit}

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{SINK_IP}"
    peer-as = {SINK_AS}
  [neighbors.timers.config]
    hold-time = 240
    connect-retry = 2
  [neighbors.transport.config]
    local-address = "{DUT_IP}"
    remote-port = {SINK_PORT}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"

[[policy-definitions]]
  name = "rov"
  [[policy-definitions.statements]]
    name = "reject-invalid"
    [policy-definitions.statements.conditions.bgp-conditions]
      rpki-validation-result = "invalid"
    [policy-definitions.statements.actions]
      route-disposition = "reject-route"
"""
        open(self.path("gobgpd.toml"), "w").write(cfg)
        return subprocess.Popen(["gobgpd", "-f", self.path("gobgpd.toml"), "-t", "toml", "-p",
                                 "--api-hosts", self.API, "--pprof-disable"],
                                stdout=open(self.path("dut.out"), "w"), stderr=subprocess.STDOUT,
                                start_new_session=True)

    def _cli(self, *args):
        host, port = self.API.split(":")
        return sh(["gobgp", "-u", host, "-p", port, *args])

    def vrps(self):
        m = re.search(rf"{RTR_IP}:{RTR_PORT}\s+Up\s+\S+\s+(\d+)/", self._cli("rpki", "server"))
        return int(m.group(1)) if m else None

    def rib(self):
        m = re.search(r"Destination:\s*(\d+)", self._cli("global", "rib", "summary", "-a", "ipv4"))
        return int(m.group(1)) if m else None

    def version(self):
        return sh(["gobgpd", "--version"]).strip()

    def final(self):
        return self._cli("neighbor") + self._cli("global", "rib", "summary", "-a", "ipv4") + self._cli(
            "rpki", "server")


class OpenBgpd(Dut):
    name = "openbgpd"

    def start(self):
        os.makedirs("/run/openbgpd", exist_ok=True)      # its chroot (systemd makes it normally)
        self.sock = self.path("bgpd.sock")
        cfg = f"""
AS {DUT_AS}
router-id {DUT_IP}
fib-update no
listen on {DUT_IP} port {DUT_PORT}
socket "{self.sock}"
rtr {RTR_IP} {{
    port {RTR_PORT}
    local-address {DUT_IP}
}}
neighbor {BLASTER} {{
    remote-as {BLASTER_AS}
    descr "blaster"
    passive
    local-address {DUT_IP}
    holdtime 240
    {f"max-prefix {self.max_prefix}" if self.max_prefix else ""}
}}
neighbor {SINK_IP} {{
    remote-as {SINK_AS}
    descr "sink"
    port {SINK_PORT}
    local-address {DUT_IP}
    holdtime 240
}}
allow from any
{"deny from any ovs invalid" if self.rov else ""}
allow to any
"""
        open(self.path("bgpd.conf"), "w").write(cfg)
        return subprocess.Popen(["bgpd", "-d", "-f", self.path("bgpd.conf")],
                                stdout=open(self.path("dut.out"), "w"), stderr=subprocess.STDOUT,
                                start_new_session=True)

    def _ctl(self, *args):
        return sh(["bgpctl", "-s", self.sock, *args])

    def vrps(self):
        m = re.search(r"RPKI ROA\s+(\d+)", self._ctl("show", "sets"))
        return int(m.group(1)) if m else None

    def vrps_expected(self, meta, data):
        # "bgpctl show sets" counts prefixes in its ROA tree, not VRPs: VRPs
        # for the same prefix (other AS or maxLength) share one entry.
        roas = json.load(open(os.path.join(data, "vrps.json")))["roas"]
        return len({r["prefix"] for r in roas})

    def _adj_in(self):
        m = re.search(r"^blaster\s.*\s(\d+)/\d+$", self._ctl("show", "summary"), re.M)
        return int(m.group(1)) if m else 0

    def rib(self):
        # "prefix entries" counts Adj-RIB-In + Loc-RIB; subtract the Adj-RIB-In
        # count read afterwards, so the result never runs ahead of the Loc-RIB.
        m = re.search(r"(\d+) prefix entries", self._ctl("show", "rib", "memory"))
        return int(m.group(1)) - self._adj_in() if m else None

    def version(self):
        return sh(["bgpd", "-V"]).strip()

    def final(self):
        return "".join(self._ctl(*c.split()) for c in (
            "show summary", "show rib memory", "show neighbor 127.0.0.10", "show sets"))


class Bgpsieve(Dut):
    """The project's daemon, configured through its TOML contract (config/bgpsieve.toml).
    One pair: the blaster is the neighbor (a provider), the sink plays the operator's router
    (the pair's router side, where bgpsieve speaks as the blaster), so the sink runs with the
    DUT's AS. The binary: $BGPSIEVE_BIN, else target/release/bgpsieve under the current folder.

    It takes its VRPs from the same stayrtr as the other DUTs, over RTR, and reports the count
    in its log; until /metrics (issue 5) its RIB count is not read, so only the end-to-end
    figures are measured."""
    name = "bgpsieve"
    supports_v6 = True
    sink_as = DUT_AS
    # The pair's router side (the sink) starts when the neighbor (the blaster) connects:
    # run.py starts the blaster without waiting for the DUT -> sink session.
    router_follows_neighbor = True
    api = f"{DUT_IP}:9179"
    data = None  # set by run.py: the data directory of this run

    def bin(self):
        return os.environ.get("BGPSIEVE_BIN") or os.path.abspath("target/release/bgpsieve")

    def start(self):
        checks_off = ["next-hop"] + ([] if self.rov else ["rpki-invalid"])
        v6lim = f", ipv6 = {self.max_prefix}" if self.v6 else ""
        limit = (f"max_prefix_in = {{ ipv4 = {self.max_prefix}{v6lim}, action = \"teardown\" }}"
                 if self.max_prefix else "")
        afi = json.dumps(["ipv4", "ipv6"] if self.v6 else ["ipv4"])
        cfg = f"""[global]
asn = {DUT_AS}
router_id = "{DUT_IP}"
listen = ["{DUT_IP}:{DUT_PORT}"]

[api]
listen = "{self.api}"

[rpki]
rtr = [{{ address = "{RTR_IP}:{RTR_PORT}" }}]

[[peer]]
name = "blaster"
role = "provider"
asn = {BLASTER_AS}
address = "{BLASTER}"
local_address = "{DUT_IP}"
passive = true
afi = {afi}
allow_private_asn = true
checks_disable = {json.dumps(checks_off)}
router = {{ address = "{SINK_IP}", port = {SINK_PORT}, local_address = "{DUT_IP}" }}
{limit}{self.blaster_extra}
"""
        open(self.path("bgpsieve.toml"), "w").write(cfg)
        log = open(self.path("bgpsieve.log"), "w")
        return subprocess.Popen([self.bin(), "run", "--config", self.path("bgpsieve.toml")],
                                stdout=log, stderr=subprocess.STDOUT)

    def vrps(self):
        try:
            text = open(self.path("bgpsieve.log")).read()
        except OSError:
            return None
        m = re.search(r"RPKI data loaded vrps_v4=(\d+) vrps_v6=(\d+)", text)
        return int(m.group(1)) + int(m.group(2)) if m else None

    def vrps_expected(self, meta, data):
        return meta["vrps"]     # v4 + v6

    def version(self):
        return sh([self.bin(), "--version"]).strip() or "bgpsieve"


DUTS = {d.name: d for d in (NoDut, Bird, GoBgp, OpenBgpd, Bgpsieve)}
