//! Socket options of a BGP session that no safe wrapper offers: TCP-MD5 signatures (RFC 2385,
//! Linux `TCP_MD5SIG`, set per peer address on the listening socket and on each outgoing
//! socket) and GTSM (RFC 5082: we send with TTL 255 and the kernel drops what arrives with less
//! than 254, `IP_MINTTL` / `IPV6_MINHOPCOUNT`). The only `unsafe` code of the crate is here:
//! two `setsockopt` calls on a descriptor the caller owns, with plain-old-data arguments.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

/// `TCP_MD5SIG_MAXKEYLEN` of `<linux/tcp.h>`.
pub const MD5_MAX_KEY: usize = 80;

/// `struct tcp_md5sig` of `<linux/tcp.h>`.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY],
}

fn setsockopt<T>(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> std::io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| std::io::Error::other("option too large"))?;
    // SAFETY: `value` points to a live, initialised `T` of `len` bytes for the duration of the
    // call; the kernel only reads it. `fd` is an open socket owned by the caller.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Signs and checks every segment to or from `peer` on `fd` with `key` (RFC 2385). An empty
/// key removes the signature.
pub fn set_md5(fd: &impl AsRawFd, peer: IpAddr, key: &[u8]) -> std::io::Result<()> {
    if key.len() > MD5_MAX_KEY {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("a TCP-MD5 key is at most {MD5_MAX_KEY} bytes"),
        ));
    }
    let sa = socket2::SockAddr::from(SocketAddr::new(peer, 0));
    // SAFETY: an all-zero `sockaddr_storage` is a valid (unspecified) address.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let n = (sa.len() as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: both regions are at least `n` bytes and do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            sa.as_ptr().cast::<u8>(),
            (&mut addr as *mut libc::sockaddr_storage).cast::<u8>(),
            n,
        );
    }
    let mut sig = TcpMd5Sig {
        addr,
        flags: 0,
        prefixlen: 0,
        keylen: key.len() as u16,
        ifindex: 0,
        key: [0; MD5_MAX_KEY],
    };
    if let Some(dst) = sig.key.get_mut(..key.len()) {
        dst.copy_from_slice(key);
    }
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// GTSM on a socket of family `v6`: send with TTL (hop limit) 255, accept only 254 or more.
pub fn set_gtsm(fd: &impl AsRawFd, v6: bool) -> std::io::Result<()> {
    let (send, min): (libc::c_int, libc::c_int) = (255, 254);
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &send)?;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &min)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &send)?;
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_takes_an_md5_key_and_gtsm_on_loopback() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_md5(&l, "127.0.0.2".parse().unwrap(), b"secret").unwrap();
        set_gtsm(&l, false).unwrap();
        let too_long = [b'x'; MD5_MAX_KEY + 1];
        assert!(set_md5(&l, "127.0.0.2".parse().unwrap(), &too_long).is_err());
    }

    /// A listener with GTSM takes a connection sent with TTL 255 and never sees one sent with
    /// TTL 64: the kernel drops its SYN.
    #[test]
    fn a_gtsm_listener_drops_a_syn_with_a_low_ttl() {
        use socket2::{Domain, Socket, Type};
        use std::time::Duration;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_gtsm(&l, false).unwrap();
        let to = l.local_addr().unwrap();
        let connect = |ttl: u32| {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            s.set_ttl_v4(ttl).unwrap();
            s.connect_timeout(&to.into(), Duration::from_millis(1500))
        };
        assert!(connect(255).is_ok());
        assert!(connect(64).is_err(), "a TTL-64 SYN reached the listener");
    }

    #[test]
    fn the_struct_is_the_kernels_size() {
        assert_eq!(std::mem::size_of::<TcpMd5Sig>(), 128 + 8 + 80);
    }
}
