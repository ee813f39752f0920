//! Reads a project's table straight from the kernel, for `alca status` as
//! root: the [`TableStatus`] that `nft -j list table` gives
//! ([`super::parse_table`]), without spawning `nft`.
//!
//! Read-only requests on a `NETLINK_NETFILTER` socket, one after the other:
//! - `NFT_MSG_GETTABLE` for the table: `ENOENT` means it is not loaded;
//! - an `NFT_MSG_GETRULE` dump of its chain `refuse`: the sum of the
//!   packets its `counter` expressions counted;
//! - `NFT_MSG_GETSETELEM` dumps of the sets `recent4` and `recent6` (a set
//!   that does not exist has no elements): each element's key, `address .
//!   protocol . port`, and the time it has left.
//!
//! Everything read is bounded (bytes, elements, time) and checked (sequence
//! numbers, port id, lengths); anything unexpected is an error, and the
//! caller falls back to `nft`.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTIPART, NLM_F_REQUEST, NetlinkBuffer,
    NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable, NlasIterator,
};

use super::TableStatus;

/// At most this much is read for one table, all requests together.
const MAX_BYTES: usize = 1 << 20;
/// One datagram: the kernel's dump messages are far smaller.
const DATAGRAM: usize = 64 << 10;
/// At most this many elements per set (alca's sets hold 256).
const MAX_ELEMENTS: usize = 1024;
/// How long one receive may wait, and the whole read.
const RECV_TIMEOUT: Duration = Duration::from_secs(1);
const DEADLINE: Duration = Duration::from_secs(2);
/// How many destinations `alca status` shows.
const SHOWN: usize = 5;

// include/uapi/linux/netfilter/nfnetlink.h and nf_tables.h.
const NFPROTO_INET: u8 = 1;
const NFNETLINK_V0: u8 = 0;
/// `struct nfgenmsg`: family, version, resource id.
const NFGENMSG_LEN: usize = 4;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const fn nft_msg(kind: u16) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | kind
}
const NFT_MSG_NEWTABLE: u16 = nft_msg(0);
const NFT_MSG_GETTABLE: u16 = nft_msg(1);
const NFT_MSG_NEWRULE: u16 = nft_msg(6);
const NFT_MSG_GETRULE: u16 = nft_msg(7);
const NFT_MSG_NEWSETELEM: u16 = nft_msg(12);
const NFT_MSG_GETSETELEM: u16 = nft_msg(13);
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_COUNTER_PACKETS: u16 = 2;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_EXPIRATION: u16 = 5;
const NFTA_DATA_VALUE: u16 = 1;

/// The project's table as loaded now; `None` when the kernel has no such
/// table.
pub(crate) fn read_table(table: &str) -> io::Result<Option<TableStatus>> {
    let mut socket = Socket::open()?;
    let mut found = false;
    let get = NftMessage::request(NFT_MSG_GETTABLE, &[(NFTA_TABLE_NAME, table)]);
    match socket.request(get, NLM_F_REQUEST, |m| {
        found |= m.kind == NFT_MSG_NEWTABLE && has_string(&m.attrs, NFTA_TABLE_NAME, table)?;
        Ok(())
    }) {
        Err(e) if is_enoent(&e) => return Ok(None),
        r => r?,
    }
    if !found {
        return Err(invalid("the kernel answered with another table"));
    }
    let mut status = TableStatus::default();
    let get = NftMessage::request(NFT_MSG_GETRULE, &[(NFTA_RULE_TABLE, table), (NFTA_RULE_CHAIN, "refuse")]);
    socket.request(get, NLM_F_REQUEST | NLM_F_DUMP, |m| count_refusals(&m, &mut status.refused))?;
    let mut recent = Vec::new();
    let mut protocols = Protocols::default();
    for (set, v6) in [("recent4", false), ("recent6", true)] {
        let mut elements = Vec::new();
        let get = NftMessage::request(
            NFT_MSG_GETSETELEM,
            &[(NFTA_SET_ELEM_LIST_TABLE, table), (NFTA_SET_ELEM_LIST_SET, set)],
        );
        match socket.request(get, NLM_F_REQUEST | NLM_F_DUMP, |m| collect_elements(&m, set, &mut elements)) {
            Err(e) if is_enoent(&e) => continue,
            r => r?,
        }
        for (key, expires) in elements {
            recent.push((expires, describe(&key, v6, &mut protocols)?));
        }
    }
    // The newest refusal has the most time left before it expires. `nft`
    // shows whole seconds (and orders ties by its own listing order);
    // milliseconds keep the true order.
    recent.sort_by_key(|r| std::cmp::Reverse(r.0));
    status.recent = recent.into_iter().map(|(_, s)| s).take(SHOWN).collect();
    Ok(Some(status))
}

fn is_enoent(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::NOENT.raw_os_error())
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// One nftables message of the `inet` family: its type and its
/// attributes, as bytes.
#[derive(Debug)]
struct NftMessage {
    kind: u16,
    attrs: Vec<u8>,
}

impl NftMessage {
    /// A request whose attributes are strings.
    fn request(kind: u16, strings: &[(u16, &str)]) -> NftMessage {
        let nlas: Vec<DefaultNla> =
            strings.iter().map(|(k, s)| DefaultNla::new(*k, s.bytes().chain([0]).collect())).collect();
        let mut attrs = vec![0; nlas.as_slice().buffer_len()];
        nlas.as_slice().emit(&mut attrs);
        NftMessage { kind, attrs }
    }
}

impl NetlinkSerializable for NftMessage {
    fn message_type(&self) -> u16 {
        self.kind
    }

    fn buffer_len(&self) -> usize {
        NFGENMSG_LEN + self.attrs.len()
    }

    fn serialize(&self, buffer: &mut [u8]) {
        let header = [NFPROTO_INET, NFNETLINK_V0, 0, 0];
        for (to, from) in buffer.iter_mut().zip(header.iter().chain(&self.attrs)) {
            *to = *from;
        }
    }
}

impl NetlinkDeserializable for NftMessage {
    type Error = DecodeError;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<NftMessage, DecodeError> {
        match payload.split_at_checked(NFGENMSG_LEN) {
            Some((nfgenmsg, attrs)) if nfgenmsg[0] == NFPROTO_INET => {
                Ok(NftMessage { kind: header.message_type, attrs: attrs.to_vec() })
            }
            Some(_) => Err(DecodeError::from("a message about another family than inet")),
            None => Err(DecodeError::from("a message shorter than its nfgenmsg header")),
        }
    }
}

/// The attributes in `buf`: each one's type (without flags) and value.
fn attributes(buf: &[u8]) -> impl Iterator<Item = io::Result<(u16, &[u8])>> {
    NlasIterator::new(buf).map(|nla| {
        let nla = nla.map_err(|e| invalid(format!("bad netlink attribute: {e}")))?;
        let (kind, len) = (nla.kind(), nla.length() as usize);
        let whole: &[u8] = nla.into_inner();
        let value = whole.get(4..len).ok_or_else(|| invalid("bad netlink attribute length"))?;
        Ok((kind, value))
    })
}

/// Whether attribute `kind` of `attrs` is the string `want`.
fn has_string(attrs: &[u8], kind: u16, want: &str) -> io::Result<bool> {
    for attr in attributes(attrs) {
        let (k, v) = attr?;
        if k == kind && v.split(|b| *b == 0).next() == Some(want.as_bytes()) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn be64(b: &[u8]) -> io::Result<u64> {
    Ok(u64::from_be_bytes(b.try_into().map_err(|_| invalid(format!("a 64-bit number of {} bytes", b.len())))?))
}

/// Adds the packets of the `counter` expressions of one rule of the chain
/// `refuse` (the dump holds only that chain's rules).
fn count_refusals(m: &NftMessage, refused: &mut u64) -> io::Result<()> {
    if m.kind != NFT_MSG_NEWRULE {
        return Err(invalid("a rule dump answered with another message"));
    }
    if !has_string(&m.attrs, NFTA_RULE_CHAIN, "refuse")? {
        return Err(invalid("the rule dump holds a rule of another chain"));
    }
    for attr in attributes(&m.attrs) {
        let (kind, exprs) = attr?;
        if kind != NFTA_RULE_EXPRESSIONS {
            continue;
        }
        for elem in attributes(exprs) {
            let (kind, expr) = elem?;
            if kind != NFTA_LIST_ELEM {
                continue;
            }
            if !has_string(expr, NFTA_EXPR_NAME, "counter")? {
                continue;
            }
            for part in attributes(expr) {
                let (kind, data) = part?;
                if kind != NFTA_EXPR_DATA {
                    continue;
                }
                for counter in attributes(data) {
                    let (kind, value) = counter?;
                    if kind == NFTA_COUNTER_PACKETS {
                        *refused = refused.saturating_add(be64(value)?);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Keeps each element's key and the milliseconds it has left.
fn collect_elements(m: &NftMessage, set: &str, out: &mut Vec<(Vec<u8>, u64)>) -> io::Result<()> {
    if m.kind != NFT_MSG_NEWSETELEM {
        return Err(invalid("a set element dump answered with another message"));
    }
    if !has_string(&m.attrs, NFTA_SET_ELEM_LIST_SET, set)? {
        return Err(invalid("the set element dump is about another set"));
    }
    for attr in attributes(&m.attrs) {
        let (kind, elements) = attr?;
        if kind != NFTA_SET_ELEM_LIST_ELEMENTS {
            continue;
        }
        for elem in attributes(elements) {
            let (kind, element) = elem?;
            if kind != NFTA_LIST_ELEM {
                continue;
            }
            let mut key = None;
            let mut expires = 0;
            for part in attributes(element) {
                match part? {
                    (NFTA_SET_ELEM_KEY, data) => {
                        for value in attributes(data) {
                            if let (NFTA_DATA_VALUE, v) = value? {
                                key = Some(v.to_vec());
                            }
                        }
                    }
                    (NFTA_SET_ELEM_EXPIRATION, ms) => expires = be64(ms)?,
                    _ => {}
                }
            }
            // An element without a key (a catch-all) is no destination.
            let Some(key) = key else { continue };
            if out.len() >= MAX_ELEMENTS {
                return Err(invalid(format!("set {set} has more than {MAX_ELEMENTS} elements")));
            }
            out.push((key, expires));
        }
    }
    Ok(())
}

/// One element's key as `nft -j` and [`super::parse_table`] show it:
/// `10.0.0.2:8080/tcp`, `[fd00::1]:22/tcp`, `10.0.0.2/icmp`. The key is the
/// concatenation `address . inet_proto . inet_service`, each field padded to
/// 4 bytes (the kernel's registers).
fn describe(key: &[u8], v6: bool, protocols: &mut Protocols) -> io::Result<String> {
    let n = if v6 { 16 } else { 4 };
    if key.len() != n + 8 {
        return Err(invalid(format!("a set element's key has {} bytes, not {}", key.len(), n + 8)));
    }
    let addr = if v6 {
        let octets: [u8; 16] = key[..16].try_into().map_err(|_| invalid("short address"))?;
        v6_text(Ipv6Addr::from(octets))
    } else {
        Ipv4Addr::new(key[0], key[1], key[2], key[3]).to_string()
    };
    let proto = protocols.name(key[n]);
    let port = u16::from_be_bytes([key[n + 4], key[n + 5]]);
    Ok(match proto.as_str() {
        "tcp" | "udp" | "sctp" | "dccp" if v6 => format!("[{addr}]:{port}/{proto}"),
        "tcp" | "udp" | "sctp" | "dccp" => format!("{addr}:{port}/{proto}"),
        _ => format!("{addr}/{proto}"),
    })
}

/// An IPv6 address as `inet_ntop` writes it (what `nft` prints): Rust's
/// form but for the IPv4-compatible `::a.b.c.d`.
fn v6_text(a: Ipv6Addr) -> String {
    let s = a.segments();
    if s[..6] == [0; 6] && s[6] != 0 {
        let o = a.octets();
        return format!("::{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    a.to_string()
}

/// Protocol names as `nft` prints them: `getprotobynumber`, that is
/// /etc/protocols, else the number. The common ones are known without
/// reading the file.
#[derive(Default)]
struct Protocols {
    file: Option<Vec<(u8, String)>>,
}

impl Protocols {
    fn name(&mut self, number: u8) -> String {
        let known = match number {
            1 => "icmp",
            6 => "tcp",
            17 => "udp",
            33 => "dccp",
            58 => "ipv6-icmp",
            132 => "sctp",
            _ => "",
        };
        if !known.is_empty() {
            return known.to_string();
        }
        let file = self.file.get_or_insert_with(|| {
            crate::fsutil::read_regular(std::path::Path::new("/etc/protocols"), 1 << 20, true)
                .map(|b| parse_protocols(&String::from_utf8_lossy(&b)))
                .unwrap_or_default()
        });
        file.iter().find(|(n, _)| *n == number).map(|(_, s)| s.clone()).unwrap_or_else(|| number.to_string())
    }
}

/// `name number aliases... # comment` lines; the first name of a number wins.
fn parse_protocols(text: &str) -> Vec<(u8, String)> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split('#').next()?.split_whitespace();
            let name = words.next()?;
            let number = words.next()?.parse().ok()?;
            Some((number, name.to_string()))
        })
        .collect()
}

/// What one datagram from the kernel says about the request it answers.
#[derive(Debug, PartialEq)]
enum Step {
    /// More messages follow (a dump in progress).
    More,
    /// The answer is complete.
    Done,
}

/// Walks the netlink messages of one datagram that answers request `seq` of
/// socket `port`: each nftables message goes to `each`; an error message
/// is the request's error.
fn read_datagram(
    data: &[u8],
    seq: u32,
    port: u32,
    each: &mut dyn FnMut(NftMessage) -> io::Result<()>,
) -> io::Result<Step> {
    let mut rest = data;
    let mut step = Step::More;
    while !rest.is_empty() {
        if step == Step::Done {
            return Err(invalid("the kernel sent more after the end of an answer"));
        }
        let bad = |e: DecodeError| invalid(format!("bad netlink message: {e}"));
        let len = NetlinkBuffer::new_checked(rest).map_err(bad)?.length() as usize;
        let msg = NetlinkMessage::<NftMessage>::deserialize(rest.get(..len).unwrap_or_default()).map_err(bad)?;
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
        let header = msg.header;
        if header.sequence_number != seq || header.port_number != port {
            return Err(invalid(format!(
                "a netlink message for request {} of port {}, not {seq} of {port}",
                header.sequence_number, header.port_number
            )));
        }
        if header.flags & NLM_F_DUMP_INTR != 0 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "the table changed while it was being read"));
        }
        match msg.payload {
            // A dump that failed part way says so in its end.
            NetlinkPayload::Done(d) if d.code != 0 => {
                return Err(io::Error::from_raw_os_error(d.code.checked_abs().unwrap_or(i32::MAX)));
            }
            NetlinkPayload::Done(_) => step = Step::Done,
            NetlinkPayload::Error(e) => match e.code {
                None => step = Step::Done,
                Some(code) => return Err(io::Error::from_raw_os_error(code.get().checked_abs().unwrap_or(i32::MAX))),
            },
            NetlinkPayload::InnerMessage(m) => {
                each(m)?;
                if header.flags & NLM_F_MULTIPART == 0 {
                    step = Step::Done;
                }
            }
            NetlinkPayload::Noop => {}
            _ => return Err(invalid("an unexpected netlink message")),
        }
    }
    Ok(step)
}

struct Socket {
    fd: OwnedFd,
    port: u32,
    seq: u32,
    read: usize,
    deadline: Instant,
    buf: Vec<u8>,
}

impl Socket {
    fn open() -> io::Result<Socket> {
        use rustix::net::{AddressFamily, SocketFlags, SocketType, netlink, sockopt};
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(netlink::NETFILTER),
        )?;
        rustix::net::bind(&fd, &netlink::SocketAddrNetlink::new(0, 0))?;
        let port = netlink::SocketAddrNetlink::try_from(rustix::net::getsockname(&fd)?)?.pid();
        sockopt::set_socket_timeout(&fd, sockopt::Timeout::Recv, Some(RECV_TIMEOUT))?;
        Ok(Socket { fd, port, seq: 0, read: 0, deadline: Instant::now() + DEADLINE, buf: vec![0; DATAGRAM] })
    }

    /// Sends one request and hands each nftables message of its answer to
    /// `each`, until the answer ends.
    fn request(
        &mut self,
        body: NftMessage,
        flags: u16,
        mut each: impl FnMut(NftMessage) -> io::Result<()>,
    ) -> io::Result<()> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(body));
        msg.finalize();
        let mut out = vec![0; msg.buffer_len()];
        msg.serialize(&mut out);
        rustix::net::send(&self.fd, &out, rustix::net::SendFlags::empty())?;
        loop {
            if Instant::now() > self.deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "the kernel took too long to answer"));
            }
            let (n, full) =
                rustix::net::recv(&self.fd, &mut self.buf[..], rustix::net::RecvFlags::TRUNC).map_err(|e| {
                    if e == rustix::io::Errno::AGAIN {
                        io::Error::new(io::ErrorKind::TimedOut, "the kernel did not answer within a second")
                    } else {
                        io::Error::from(e)
                    }
                })?;
            if full > n {
                return Err(invalid(format!("a netlink datagram of {full} bytes")));
            }
            self.read += n;
            if self.read > MAX_BYTES {
                return Err(invalid(format!("the table is larger than {MAX_BYTES} bytes")));
            }
            if n == 0 {
                return Err(invalid("an empty netlink datagram"));
            }
            if read_datagram(&self.buf[..n], self.seq, self.port, &mut each)? == Step::Done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_like_nft_prints_them() {
        let mut p = Protocols::default();
        let v4 = |a: [u8; 4], proto: u8, port: u16| {
            let mut k = a.to_vec();
            k.extend([proto, 0, 0, 0]);
            k.extend(port.to_be_bytes());
            k.extend([0, 0]);
            k
        };
        assert_eq!(describe(&v4([10, 0, 0, 2], 6, 8080), false, &mut p).unwrap(), "10.0.0.2:8080/tcp");
        assert_eq!(describe(&v4([10, 0, 0, 2], 17, 53), false, &mut p).unwrap(), "10.0.0.2:53/udp");
        assert_eq!(describe(&v4([10, 0, 0, 2], 1, 0x1234), false, &mut p).unwrap(), "10.0.0.2/icmp");
        assert_eq!(describe(&v4([10, 0, 0, 2], 253, 1), false, &mut p).unwrap(), "10.0.0.2/253");
        let mut k6 = "fd00::1".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        k6.extend([6, 0, 0, 0, 0, 22, 0, 0]);
        assert_eq!(describe(&k6, true, &mut p).unwrap(), "[fd00::1]:22/tcp");
        k6[16] = 58;
        assert_eq!(describe(&k6, true, &mut p).unwrap(), "fd00::1/ipv6-icmp");
        assert!(describe(&k6, false, &mut p).is_err(), "a v6 key in a v4 set");
        assert!(describe(&k6[..20], true, &mut p).is_err());
        assert!(describe(&[], false, &mut p).is_err());
        assert_eq!(v6_text("::1.2.3.4".parse().unwrap()), "::1.2.3.4");
        assert_eq!(v6_text("::ffff:1.2.3.4".parse().unwrap()), "::ffff:1.2.3.4");
        assert_eq!(v6_text("::1".parse().unwrap()), "::1");
        assert_eq!(v6_text("::".parse().unwrap()), "::");
        assert_eq!(v6_text("2001:db8:0:0:1:0:0:1".parse().unwrap()), "2001:db8::1:0:0:1");
        let file = parse_protocols("# c\nip\t0\tIP\ngre\t47\tGRE\t\t# x\nbad\nalso-gre 47\n");
        assert_eq!(file, [(0, "ip".to_string()), (47, "gre".to_string()), (47, "also-gre".to_string())]);
        let mut p = Protocols { file: Some(file) };
        assert_eq!(p.name(47), "gre");
        assert_eq!(p.name(99), "99");
    }

    /// One netlink message: header, nfgenmsg, attributes.
    fn nlmsg(kind: u16, flags: u16, seq: u32, port: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(((16 + payload.len()) as u32).to_ne_bytes());
        m.extend(kind.to_ne_bytes());
        m.extend(flags.to_ne_bytes());
        m.extend(seq.to_ne_bytes());
        m.extend(port.to_ne_bytes());
        m.extend(payload);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend(((4 + value.len()) as u16).to_ne_bytes());
        a.extend(kind.to_ne_bytes());
        a.extend(value);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    const NEWRULE: u16 = (10 << 8) | 6;
    const NEWSETELEM: u16 = (10 << 8) | 12;

    /// A rule of chain `refuse` with one counter of `packets`.
    fn rule(packets: u64) -> Vec<u8> {
        let counter = [nla(1, &7u64.to_be_bytes()), nla(NFTA_COUNTER_PACKETS, &packets.to_be_bytes())].concat();
        let expr = [nla(1, b"counter\0"), nla(2 | 0x8000, &counter)].concat();
        let exprs = nla(1 | 0x8000, &expr);
        [vec![1, 0, 0, 0], nla(1, b"alca-0123456789ab\0"), nla(2, b"refuse\0"), nla(4 | 0x8000, &exprs)].concat()
    }

    /// A set element message of `recent4` with one element.
    fn element(key: &[u8], expires_ms: u64) -> Vec<u8> {
        let key = nla(1 | 0x8000, &nla(1, key));
        let elem = [key, nla(5, &expires_ms.to_be_bytes())].concat();
        let elems = nla(3 | 0x8000, &nla(1 | 0x8000, &elem));
        [vec![1, 0, 0, 0], nla(1, b"alca-0123456789ab\0"), nla(2, b"recent4\0"), elems].concat()
    }

    fn done(seq: u32, port: u32) -> Vec<u8> {
        nlmsg(3, NLM_F_MULTIPART, seq, port, &[0, 0, 0, 0])
    }

    #[test]
    fn a_dump_is_read_message_by_message() {
        let mut refused = 0;
        let data = [nlmsg(NEWRULE, NLM_F_MULTIPART, 2, 77, &rule(3)), nlmsg(NEWRULE, NLM_F_MULTIPART, 2, 77, &rule(4))]
            .concat();
        let step = read_datagram(&data, 2, 77, &mut |m| count_refusals(&m, &mut refused)).unwrap();
        assert_eq!((step, refused), (Step::More, 7));
        let step = read_datagram(&done(2, 77), 2, 77, &mut |m| count_refusals(&m, &mut refused)).unwrap();
        assert_eq!((step, refused), (Step::Done, 7));

        let mut out = Vec::new();
        let key = [10, 1, 2, 3, 6, 0, 0, 0, 0x1f, 0x91, 0, 0];
        let data = [nlmsg(NEWSETELEM, NLM_F_MULTIPART, 3, 77, &element(&key, 3_600_000)), done(3, 77)].concat();
        let step = read_datagram(&data, 3, 77, &mut |m| collect_elements(&m, "recent4", &mut out)).unwrap();
        assert_eq!(step, Step::Done);
        assert_eq!(out, [(key.to_vec(), 3_600_000)]);
        assert_eq!(describe(&out[0].0, false, &mut Protocols::default()).unwrap(), "10.1.2.3:8081/tcp");
        // The same message about another set is refused.
        let data = nlmsg(NEWSETELEM, NLM_F_MULTIPART, 3, 77, &element(&key, 1));
        assert!(read_datagram(&data, 3, 77, &mut |m| collect_elements(&m, "recent6", &mut out)).is_err());
    }

    #[test]
    fn errors_and_strangers_are_errors() {
        let mut none = |_: NftMessage| -> io::Result<()> { panic!("no message expected") };
        // NLMSG_ERROR -ENOENT, with the request echoed.
        let mut payload = (-2i32).to_ne_bytes().to_vec();
        payload.extend(&nlmsg(NEWRULE, 1, 5, 0, &[])[..16]);
        let e = read_datagram(&nlmsg(2, 0, 5, 9, &payload), 5, 9, &mut none).unwrap_err();
        assert!(is_enoent(&e), "{e}");
        // An ACK ends the answer.
        let mut ack = 0i32.to_ne_bytes().to_vec();
        ack.extend(&nlmsg(NEWRULE, 1, 5, 0, &[])[..16]);
        assert_eq!(read_datagram(&nlmsg(2, 0, 5, 9, &ack), 5, 9, &mut none).unwrap(), Step::Done);
        // Error codes that are no errno.
        for code in [i32::MIN, i32::MAX] {
            let mut payload = code.to_ne_bytes().to_vec();
            payload.extend(&nlmsg(NEWRULE, 1, 5, 0, &[])[..16]);
            assert!(read_datagram(&nlmsg(2, 0, 5, 9, &payload), 5, 9, &mut none).is_err());
            assert!(read_datagram(&nlmsg(3, NLM_F_MULTIPART, 5, 9, &code.to_ne_bytes()), 5, 9, &mut none).is_err());
        }
        // A dump that failed part way.
        let e = read_datagram(&nlmsg(3, NLM_F_MULTIPART, 5, 9, &(-12i32).to_ne_bytes()), 5, 9, &mut none).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(12));
        // Another request's answer, another port's, an interrupted dump.
        assert!(read_datagram(&done(4, 9), 5, 9, &mut none).is_err());
        assert!(read_datagram(&done(5, 8), 5, 9, &mut none).is_err());
        assert!(read_datagram(&nlmsg(3, NLM_F_MULTIPART | NLM_F_DUMP_INTR, 5, 9, &[0; 4]), 5, 9, &mut none).is_err());
        // Anything after the end.
        assert!(read_datagram(&[done(5, 9), done(5, 9)].concat(), 5, 9, &mut none).is_err());
        // Another subsystem's message.
        assert!(read_datagram(&nlmsg(1 << 8, 0, 5, 9, &[2, 0, 0, 0]), 5, 9, &mut none).is_err());
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        let mut refused = 0;
        let good = nlmsg(NEWRULE, NLM_F_MULTIPART, 1, 1, &rule(3));
        let mut cases: Vec<Vec<u8>> = vec![
            vec![1, 2, 3],
            good[..good.len() - 4].to_vec(),
            good[..15].to_vec(),
            nlmsg(NEWRULE, NLM_F_MULTIPART, 1, 1, &[]),
            nlmsg(NEWRULE, NLM_F_MULTIPART, 1, 1, &[1, 0]),
        ];
        // The message's length past the end, and below a header.
        let mut long = good.clone();
        long[..4].copy_from_slice(&(good.len() as u32 + 8).to_ne_bytes());
        cases.push(long);
        let mut short = good.clone();
        short[..4].copy_from_slice(&8u32.to_ne_bytes());
        cases.push(short);
        // An attribute whose length runs past the message, or is below its header.
        for at in [20, 44] {
            for len in [0xffffu16, 2, 3] {
                let mut bad = good.clone();
                bad[at..at + 2].copy_from_slice(&len.to_ne_bytes());
                cases.push(bad);
            }
        }
        // A counter of 4 bytes.
        let counter = [nla(NFTA_COUNTER_PACKETS, &[0, 0, 0, 1])].concat();
        let expr = [nla(1, b"counter\0"), nla(2 | 0x8000, &counter)].concat();
        let body = [vec![1, 0, 0, 0], nla(2, b"refuse\0"), nla(4 | 0x8000, &nla(1 | 0x8000, &expr))].concat();
        cases.push(nlmsg(NEWRULE, NLM_F_MULTIPART, 1, 1, &body));
        // A rule of another chain.
        let body = [vec![1, 0, 0, 0], nla(2, b"outbound\0")].concat();
        cases.push(nlmsg(NEWRULE, NLM_F_MULTIPART, 1, 1, &body));
        // A set element answer to a rule dump.
        cases.push(nlmsg(NEWSETELEM, NLM_F_MULTIPART, 1, 1, &element(&[0; 12], 1)));
        for (i, case) in cases.iter().enumerate() {
            let r = read_datagram(case, 1, 1, &mut |m| count_refusals(&m, &mut refused));
            assert!(r.is_err(), "case {i}: {r:?}");
        }
        // Every truncation of a good datagram, and every byte changed.
        let data = [good.clone(), done(1, 1)].concat();
        for end in 0..data.len() {
            let _ = read_datagram(&data[..end], 1, 1, &mut |m| count_refusals(&m, &mut refused));
        }
        for at in 0..data.len() {
            for b in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = data.clone();
                bad[at] = b;
                let _ = read_datagram(&bad, 1, 1, &mut |m| count_refusals(&m, &mut refused));
                let mut out = Vec::new();
                let _ = read_datagram(&bad, 1, 1, &mut |m| collect_elements(&m, "recent4", &mut out));
            }
        }
        let el = [nlmsg(NEWSETELEM, NLM_F_MULTIPART, 1, 1, &element(&[0; 12], 1)), done(1, 1)].concat();
        for at in 0..el.len() {
            for b in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = el.clone();
                bad[at] = b;
                let mut out = Vec::new();
                if read_datagram(&bad, 1, 1, &mut |m| collect_elements(&m, "recent4", &mut out)).is_ok() {
                    for (key, _) in &out {
                        let _ = describe(key, false, &mut Protocols::default());
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_without_panicking(data in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let mut refused = 0;
            let _ = read_datagram(&data, 1, 1, &mut |m| count_refusals(&m, &mut refused));
            let mut out = Vec::new();
            let _ = read_datagram(&data, 1, 1, &mut |m| collect_elements(&m, "recent4", &mut out));
            let _ = describe(&data, data.len() > 12, &mut Protocols::default());
        }
    }

    #[test]
    fn the_element_count_is_bounded() {
        let mut out = vec![(Vec::new(), 0); MAX_ELEMENTS];
        let data = nlmsg(NEWSETELEM, NLM_F_MULTIPART, 1, 1, &element(&[0; 12], 1));
        assert!(read_datagram(&data, 1, 1, &mut |m| collect_elements(&m, "recent4", &mut out)).is_err());
    }

    // Against the kernel: the same table read over netlink and listed by
    // `nft -j`. Needs root and nft, which CI has.

    fn root_with_nft() -> bool {
        if !rustix::process::geteuid().is_root() || which::which("nft").is_err() {
            eprintln!("SKIPPED: needs root and nft");
            return false;
        }
        true
    }

    fn nft(args: &[&str], stdin: Option<&str>) -> Vec<u8> {
        use std::process::{Command, Stdio};
        let out = Command::new("nft")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(stdin.unwrap_or_default().as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success(), "nft {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// A table of its own for one test, deleted when the test ends, passed
    /// or not.
    struct TestTable(String);

    impl TestTable {
        fn new() -> TestTable {
            TestTable(format!("alca-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]))
        }

        /// With the rules alca loads for an isolated project.
        fn with_rules() -> TestTable {
            let t = TestTable::new();
            let rules = super::super::Ruleset {
                table: &t.0,
                interface: "alca-nl-test",
                project_dir: "/nonexistent",
                project_id: "netlink-test",
                isolate: true,
                allow: &[],
                proxy: None,
                subnets: &[],
            };
            nft(&["-f", "-"], Some(&rules.render()));
            t
        }

        fn add(&self, set: &str, elements: &str) {
            nft(&["add", "element", "inet", &self.0, set, &format!("{{ {elements} }}")], None);
        }

        /// Asserts that netlink reads what `nft -j list table` lists.
        fn read(&self) -> TableStatus {
            let json = nft(&["-j", "list", "table", "inet", &self.0], None);
            let start = Instant::now();
            let ours = read_table(&self.0).unwrap().expect("the table is loaded");
            eprintln!("read {} over netlink in {:?}", self.0, start.elapsed());
            assert_eq!(ours, super::super::parse_table(&json), "{}", String::from_utf8_lossy(&json));
            ours
        }
    }

    impl Drop for TestTable {
        fn drop(&mut self) {
            let _ = std::process::Command::new("nft").args(["delete", "table", "inet", &self.0]).output();
        }
    }

    #[test]
    fn the_table_reads_as_nft_lists_it() {
        if !root_with_nft() {
            return;
        }
        let t = TestTable::with_rules();
        assert_eq!(t.read(), TableStatus::default());
        // Distinct timeouts: `nft` shows whole seconds and orders ties its own way.
        t.add(
            "recent4",
            "10.1.2.3 . tcp . 8081 timeout 1h, 10.1.2.4 . udp . 53 timeout 2h, 10.1.2.5 . icmp . 0 timeout 3h",
        );
        t.add("recent6", "fd00::1 . tcp . 22 timeout 90m, fd00::2 . ipv6-icmp . 0 timeout 30m");
        assert_eq!(
            t.read().recent,
            ["10.1.2.5/icmp", "10.1.2.4:53/udp", "[fd00::1]:22/tcp", "10.1.2.3:8081/tcp", "fd00::2/ipv6-icmp"]
        );
        t.add("recent4", "10.1.2.6 . 47 . 0 timeout 4h, 10.1.2.7 . 253 . 1 timeout 5h, 10.1.2.8 . sctp . 9 timeout 6h");
        t.add("recent6", "::1.2.3.4 . dccp . 7 timeout 7h, 2001:db8:0:0:1:0:0:1 . udp . 65535 timeout 8h");
        assert_eq!(
            t.read().recent,
            ["[2001:db8::1:0:0:1]:65535/udp", "[::1.2.3.4]:7/dccp", "10.1.2.8:9/sctp", "10.1.2.7/253", "10.1.2.6/gre"]
        );
        // A full set (256 elements; the kernel refuses more).
        let many: Vec<String> =
            (0..246).map(|i| format!("10.9.{}.{} . tcp . {i} timeout {}s", i / 250, i % 250, 100 + i)).collect();
        t.add("recent4", &many.join(", "));
        assert_eq!(t.read().recent.len(), 5);
    }

    #[test]
    fn refusals_are_counted_and_remembered() {
        if !root_with_nft() {
            return;
        }
        let t = TestTable::with_rules();
        // Refuse this host's own packets to one loopback address.
        nft(&["add", "chain", "inet", &t.0, "probe", "{ type filter hook output priority 0; policy accept; }"], None);
        nft(&["add", "rule", "inet", &t.0, "probe", "ip", "daddr", "127.0.0.213", "jump", "refuse"], None);
        let refused = std::net::TcpStream::connect_timeout(&"127.0.0.213:7".parse().unwrap(), Duration::from_secs(5));
        assert_eq!(refused.unwrap_err().kind(), io::ErrorKind::ConnectionRefused, "a TCP reset");
        // The set remembers whole seconds for `nft`: one second apart.
        std::thread::sleep(Duration::from_millis(1100));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // The sender of a packet its own host rejects is told EPERM.
        let sent = udp.send_to(b"x", "127.0.0.213:9");
        assert!(sent.as_ref().map_or_else(|e| e.kind() == io::ErrorKind::PermissionDenied, |_| true), "{sent:?}");
        let s = t.read();
        assert_eq!(s.refused, 2);
        assert_eq!(s.recent, ["127.0.0.213:9/udp", "127.0.0.213:7/tcp"]);
    }

    #[test]
    fn tables_without_the_sets_or_without_anything() {
        if !root_with_nft() {
            return;
        }
        let t = TestTable::new();
        assert_eq!(read_table(&t.0).unwrap(), None, "not loaded");
        nft(&["-f", "-"], Some(&format!("table inet {} {{}}", t.0)));
        assert_eq!(t.read(), TableStatus::default());
        nft(
            &["-f", "-"],
            Some(&format!("table inet {} {{\n  chain refuse {{\n    counter\n    counter\n  }}\n}}\n", t.0)),
        );
        assert_eq!(t.read(), TableStatus::default());
        nft(
            &["-f", "-"],
            Some(&format!(
                "table inet {} {{\n  set recent4 {{ type ipv4_addr; elements = {{ 10.0.0.1 }}; }}\n}}\n",
                t.0
            )),
        );
        assert!(read_table(&t.0).is_err(), "a set of another type is an error (and nft is asked)");
        drop(t);
    }
}
