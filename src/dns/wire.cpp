// wire.cpp: DNS response decoding (see wire.hpp for the RFC rules and security notes).
#include "dns/wire.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <vector>

namespace mxg::dns {

namespace {

constexpr std::size_t kHeaderSize = 12;  // RFC 1035 4.1.1

struct reader {
  std::span<const std::uint8_t> msg;
  std::size_t pos = 0;

  bool has(std::size_t n) const { return pos <= msg.size() && msg.size() - pos >= n; }
  std::uint16_t u16() {
    std::uint16_t v = static_cast<std::uint16_t>(msg[pos] << 8 | msg[pos + 1]);
    pos += 2;
    return v;
  }
  std::uint32_t u32() {
    std::uint32_t v = std::uint32_t{msg[pos]} << 24 | std::uint32_t{msg[pos + 1]} << 16 |
                      std::uint32_t{msg[pos + 2]} << 8 | std::uint32_t{msg[pos + 3]};
    pos += 4;
    return v;
  }
};

struct raw_rr {
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
  std::uint32_t ttl = 0;
  std::size_t rdata = 0;  // offset of RDATA in the message
  std::uint16_t rdlength = 0;
};

result<raw_rr> read_rr(reader& r) {
  raw_rr rr;
  auto name = read_name(r.msg, r.pos);
  if (!name) return std::unexpected(name.error());
  rr.name = std::move(*name);
  if (!r.has(10)) return fail(errc::parse_error, "truncated resource record header");
  rr.type = r.u16();
  rr.klass = r.u16();
  rr.ttl = r.u32();
  if (rr.ttl & 0x80000000u) rr.ttl = 0;  // RFC 2181 8
  rr.rdlength = r.u16();
  if (!r.has(rr.rdlength)) return fail(errc::parse_error, "RDATA runs past the message end");
  rr.rdata = r.pos;
  r.pos += rr.rdlength;
  return rr;
}

// Decodes the RDATA of a type we represent; the record must consume exactly rdlength.
result<record> decode_rdata(std::span<const std::uint8_t> msg, const raw_rr& raw) {
  record out;
  out.type = static_cast<rrtype>(raw.type);
  out.name = raw.name;
  out.ttl = raw.ttl;
  const std::size_t end = raw.rdata + raw.rdlength;
  std::size_t p = raw.rdata;
  auto name_at = [&](std::string& into) -> result<void> {
    auto n = read_name(msg, p);
    if (!n) return std::unexpected(n.error());
    if (p > end) return fail(errc::parse_error, "name runs past RDATA");
    // A name in RDATA names a host (or mailbox): printable ASCII without space only
    // (wire.hpp). errc::unsupported tells decode_response to drop just this record.
    for (unsigned char c : *n)
      if (c < 0x21 || c > 0x7e)
        return fail(errc::unsupported, "a name in RDATA has an octet no host name has");
    into = std::move(*n);
    return {};
  };
  switch (out.type) {
    case rrtype::a: {
      if (raw.rdlength != 4) return fail(errc::parse_error, "A RDATA is not 4 octets");
      std::array<std::uint8_t, 4> b{};
      std::copy_n(msg.begin() + static_cast<std::ptrdiff_t>(p), 4, b.begin());
      out.addr = net::ip_address::v4(b);
      return out;
    }
    case rrtype::aaaa: {
      if (raw.rdlength != 16) return fail(errc::parse_error, "AAAA RDATA is not 16 octets");
      std::array<std::uint8_t, 16> b{};
      std::copy_n(msg.begin() + static_cast<std::ptrdiff_t>(p), 16, b.begin());
      out.addr = net::ip_address::v6(b);
      return out;
    }
    case rrtype::cname:
    case rrtype::ns:
    case rrtype::ptr: {
      if (auto r = name_at(out.target); !r) return std::unexpected(r.error());
      break;
    }
    case rrtype::mx: {
      if (raw.rdlength < 3) return fail(errc::parse_error, "MX RDATA too short");
      out.preference = static_cast<std::uint16_t>(msg[p] << 8 | msg[p + 1]);
      p += 2;
      if (auto r = name_at(out.target); !r) return std::unexpected(r.error());
      break;
    }
    case rrtype::txt:
    case rrtype::spf: {
      // RFC 1035 3.3.14: one or more <character-string>s, each a length octet + bytes.
      // Zero of them (RDLENGTH 0) is read as a record with no string (see wire.hpp).
      while (p < end) {
        std::size_t len = msg[p++];
        if (end - p < len) return fail(errc::parse_error, "TXT character-string past RDATA");
        out.strings.emplace_back(reinterpret_cast<const char*>(msg.data() + p), len);
        p += len;
      }
      return out;
    }
    case rrtype::soa: {
      if (auto r = name_at(out.target); !r) return std::unexpected(r.error());
      if (auto r = name_at(out.rname); !r) return std::unexpected(r.error());
      if (end - p != 20) return fail(errc::parse_error, "SOA RDATA has a bad length");
      reader rd{msg, p};
      out.serial = rd.u32();
      out.refresh = rd.u32();
      out.retry = rd.u32();
      out.expire = rd.u32();
      out.minimum = rd.u32();
      return out;
    }
    default:
      return fail(errc::unsupported, "type not decoded");
  }
  if (p != end) return fail(errc::parse_error, "RDATA has trailing octets");
  return out;
}

answer servfail(std::string why, std::size_t size) {
  answer a;
  a.st = status::servfail;
  a.detail = std::move(why);
  a.wire_size = size;
  return a;
}

}  // namespace

result<std::string> read_name(std::span<const std::uint8_t> msg, std::size_t& offset) {
  std::string out;
  std::size_t p = offset;
  std::size_t wire_len = 0;
  bool jumped = false;
  std::size_t lowest = p;  // every pointer must go strictly below the previous position
  while (true) {
    if (p >= msg.size()) return fail(errc::parse_error, "name runs past the message end");
    std::uint8_t len = msg[p];
    if ((len & 0xC0) == 0xC0) {  // RFC 1035 4.1.4 compression pointer
      if (p + 1 >= msg.size()) return fail(errc::parse_error, "truncated compression pointer");
      std::size_t target = static_cast<std::size_t>((len & 0x3F) << 8 | msg[p + 1]);
      if (target >= lowest)
        return fail(errc::parse_error, "compression pointer does not point back");
      if (!jumped) offset = p + 2;
      jumped = true;
      lowest = target;
      p = target;
      continue;
    }
    if (len & 0xC0) return fail(errc::parse_error, "unsupported label type");
    wire_len += 1u + len;
    if (wire_len > kDnsWireNameMax) return fail(errc::parse_error, "name longer than 255 octets");
    if (len == 0) {
      if (!jumped) offset = p + 1;
      return out;
    }
    if (msg.size() - p - 1 < len) return fail(errc::parse_error, "label runs past the message end");
    if (!out.empty()) out += '.';
    for (std::size_t i = 0; i < len; ++i) {
      unsigned char c = msg[p + 1 + i];
      if (c == '.') return fail(errc::parse_error, "a label contains a '.' octet");
      if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
      out += static_cast<char>(c);
    }
    p += 1u + len;
  }
}

result<std::vector<std::uint8_t>> encode_query(std::string_view name, rrtype qtype,
                                               std::uint16_t id, bool recursion_desired) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::vector<std::uint8_t> out;
  out.reserve(kHeaderSize + name.size() + 2 + 4);
  const std::uint16_t flags = recursion_desired ? 0x0100 : 0;  // QR 0, OPCODE 0 (QUERY)
  const std::uint8_t header[kHeaderSize] = {static_cast<std::uint8_t>(id >> 8),
                                            static_cast<std::uint8_t>(id & 0xFF),
                                            static_cast<std::uint8_t>(flags >> 8),
                                            static_cast<std::uint8_t>(flags & 0xFF),
                                            0,
                                            1,  // QDCOUNT
                                            0,
                                            0,
                                            0,
                                            0,
                                            0,
                                            0};
  out.insert(out.end(), header, header + kHeaderSize);
  std::size_t wire_len = 1;  // the root label
  if (!name.empty()) {
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = name.find('.', start);
      const std::string_view label =
          name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (label.empty()) return fail(errc::invalid_argument, "empty label in a DNS name");
      if (label.size() > 63) return fail(errc::invalid_argument, "DNS label longer than 63 octets");
      wire_len += 1 + label.size();
      if (wire_len > kDnsWireNameMax)
        return fail(errc::invalid_argument, "DNS name longer than 255 octets");
      out.push_back(static_cast<std::uint8_t>(label.size()));
      out.insert(out.end(), label.begin(), label.end());  // octets as they are, no escapes
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  out.push_back(0);
  const auto t = static_cast<std::uint16_t>(qtype);
  constexpr std::uint16_t kClassIn = 1;
  out.push_back(static_cast<std::uint8_t>(t >> 8));
  out.push_back(static_cast<std::uint8_t>(t & 0xFF));
  out.push_back(0);
  out.push_back(kClassIn);
  return out;
}

answer decode_response(std::span<const std::uint8_t> msg, std::string_view qname, rrtype qtype) {
  const std::size_t size = msg.size();
  if (size < kHeaderSize) return servfail("malformed answer: shorter than a DNS header", size);
  reader r{msg, 0};
  r.u16();  // id: matched by c-ares
  const std::uint16_t flags = r.u16();
  const std::uint16_t qdcount = r.u16(), ancount = r.u16(), nscount = r.u16();
  r.u16();  // arcount: not needed
  if (!(flags & 0x8000)) return servfail("malformed answer: QR bit not set", size);
  const int rcode = flags & 0x000F;
  if (rcode != kRcodeNoError && rcode != kRcodeNxdomain) {
    static constexpr const char* kNames[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                             "NXDOMAIN", "NOTIMP",  "REFUSED"};
    return servfail(std::string("server answered ") +
                        (rcode < 6 ? kNames[rcode] : "RCODE " + std::to_string(rcode)),
                    size);
  }
  for (int i = 0; i < qdcount; ++i) {  // RFC 1035 4.1.2: QNAME, QTYPE, QCLASS
    if (auto n = read_name(msg, r.pos); !n)
      return servfail("malformed question: " + n.error().message, size);
    if (!r.has(4)) return servfail("malformed question: truncated", size);
    r.pos += 4;
  }
  std::vector<raw_rr> answers;
  for (int i = 0; i < ancount; ++i) {
    auto rr = read_rr(r);
    if (!rr) return servfail("malformed answer section: " + rr.error().message, size);
    answers.push_back(std::move(*rr));
  }
  std::optional<record> soa;
  for (int i = 0; i < nscount; ++i) {
    auto rr = read_rr(r);
    if (!rr) break;  // authority only gives the negative TTL; keep what the answer says
    if (rr->type == static_cast<std::uint16_t>(rrtype::soa) && !soa) {
      if (auto rec = decode_rdata(msg, *rr)) soa = std::move(*rec);
    }
  }

  answer a;
  a.wire_size = size;
  // Follow the CNAME chain from the question name (RFC 1034 3.6.2, 4.3.2 step 3a).
  std::string cur = normalize_name(qname);
  std::set<std::string> seen{cur};
  std::uint32_t chain_ttl = UINT32_MAX;
  constexpr std::uint16_t kClassIn = 1;
  for (int hops = 0;; ++hops) {
    bool found = false;
    const raw_rr* cname = nullptr;
    for (const auto& rr : answers) {
      if (rr.klass != kClassIn || rr.name != cur) continue;
      if (rr.type == static_cast<std::uint16_t>(qtype)) {
        auto rec = decode_rdata(msg, rr);
        if (!rec && rec.error().code == errc::unsupported) continue;  // unusable target name
        if (!rec)
          return servfail(
              "malformed " + std::string(to_string(qtype)) + " record: " + rec.error().message,
              size);
        a.records.push_back(std::move(*rec));
        found = true;
      } else if (rr.type == static_cast<std::uint16_t>(rrtype::cname) && !cname) {
        cname = &rr;
      }
    }
    if (found || !cname || qtype == rrtype::cname) break;
    auto rec = decode_rdata(msg, *cname);
    if (!rec && rec.error().code == errc::unsupported) break;  // unusable target: no data
    if (!rec) return servfail("malformed CNAME record: " + rec.error().message, size);
    if (hops >= kDnsCnameChainMax) return servfail("CNAME chain longer than 10", size);
    chain_ttl = std::min(chain_ttl, rec->ttl);
    cur = rec->target;
    if (!seen.insert(cur).second) return servfail("CNAME loop in answer", size);
  }

  if (!a.records.empty()) {
    // A NXDOMAIN with records of the asked type would be contradictory; the records win.
    a.st = status::ok;
    a.ttl = chain_ttl;
    for (const auto& rec : a.records) a.ttl = std::min(a.ttl, rec.ttl);
    return a;
  }
  a.st = rcode == kRcodeNxdomain ? status::nxdomain : status::nodata;
  if (soa) a.ttl = std::min(soa->ttl, soa->minimum);  // RFC 2308 5
  if (chain_ttl != UINT32_MAX && soa) a.ttl = std::min(a.ttl, chain_ttl);
  return a;
}

}  // namespace mxg::dns
