// seal.cpp: RFC 8617 5.1 (sealer actions), 4.1.1 (AAR), 4.1.2 (AMS), 4.1.3 and 5.1.1
// (AS input); RFC 6376 3.7 (signature input), 3.4.2/3.4.4 (relaxed). See seal.hpp.
// Must never: seal a chain already terminated with cv=fail, exceed 50 instances, or
// sign anything but what the validator will check.
#include "arc/seal.hpp"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <unordered_map>

#include "base/ascii.hpp"
#include "dkim/canon.hpp"
#include "dkim/tag_list.hpp"
#include "mail/header.hpp"

namespace mxg::arc {

namespace {

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey = std::unique_ptr<EVP_PKEY, pkey_free>;

mxg::result<pkey> load_private(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return fail(errc::internal, "BIO_new_mem_buf failed");
  pkey k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!k) return fail(errc::invalid_argument, "ARC private key: not a PEM private key");
  if (EVP_PKEY_base_id(k.get()) != EVP_PKEY_RSA)
    return fail(errc::unsupported, "ARC private key: only RSA (rsa-sha256) is supported");
  return k;
}

// RSASSA-PKCS1-v1_5 with SHA-256 over `input` (RFC 6376 3.3.1), base64.
mxg::result<std::string> rsa_sha256(EVP_PKEY* k, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, k) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1)
    return fail(errc::internal, "ARC signing: EVP_DigestSign setup failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     input.size()) != 1)
    return fail(errc::internal, "ARC signing: EVP_DigestSign failed");
  sig.resize(len);
  return base64(sig);
}

// Appends the relaxed form of "name: value" (no final CRLF when `crlf` is false).
void relaxed(std::string_view name, std::string_view value, std::string& out, bool crlf = true) {
  std::string raw = fmt::format("{}:{}\r\n", name, value);
  dkim::canon_header(dkim::canon::relaxed, raw, name, value, out, crlf);
}

// Every whitespace run (folding included) -> one space, trimmed.
std::string squeeze(std::string_view s) {
  std::string out;
  bool ws = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ws = true;
      continue;
    }
    if (ws && !out.empty()) out += ' ';
    ws = false;
    out += c;
  }
  return out;
}

// RFC 8601 2.2: the resinfos after the authserv-id, split at ';' outside comments and
// quoted strings. Returns the authserv-id (first element) and the results.
std::vector<std::string> split_authres(std::string_view v) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (quoted) {
      if (c == '\\' && i + 1 < v.size())
        cur += v[i++];
      else if (c == '"')
        quoted = false;
    } else if (c == '"' && depth == 0) {
      quoted = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (c == '\\' && depth > 0 && i + 1 < v.size()) {
      cur += c;
      c = v[++i];
    } else if (c == ';' && depth == 0) {
      parts.push_back(squeeze(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  parts.push_back(squeeze(cur));
  return parts;
}

}  // namespace

mxg::result<std::optional<arc_set>> seal(std::string_view message, const validation& incoming,
                                         const seal_options& o) {
  int n = static_cast<int>(incoming.hops.size());
  // RFC 8617 5.2 step 2 / 5.1: a chain whose newest seal says cv=fail is terminated.
  if (n > 0 && incoming.hops.back().cv == "fail") return std::optional<arc_set>{};
  if (n >= kInstancesMax) return std::optional<arc_set>{};
  // A header that starts with WSP would fold into the field we put on top (RFC 5322
  // 2.2.3), changing the AAR after it was sealed: refuse rather than seal a lie.
  if (!message.empty() && (message[0] == ' ' || message[0] == '\t'))
    return fail(errc::invalid_argument,
                "ARC sealing: the message starts with a continuation line; a field put on top "
                "would absorb it");
  auto key = load_private(o.private_key);
  if (!key) return std::unexpected(key.error());

  std::string text;
  mail::append_crlf(text, message);
  mail::header_block hb = mail::read_header(text);
  if (hb.truncated) return fail(errc::limit_exceeded, "ARC sealing: too many header fields");

  arc_set out;
  out.instance = n + 1;
  const std::string cv = to_string(incoming.cv);

  // AAR (RFC 8617 4.1.1): our authserv-id's results, in message order.
  std::string aar = fmt::format("i={}; {}", out.instance, o.authserv_id);
  for (const auto& f : hb.fields) {
    if (!mail::name_is(f, "Authentication-Results")) continue;
    auto parts = split_authres(f.value);
    std::string id = parts.empty() ? "" : parts[0];
    if (auto sp = id.find(' '); sp != std::string::npos) id.resize(sp);  // authserv-id [version]
    if (!ascii::iequals(id, o.authserv_id)) continue;
    for (std::size_t i = 1; i < parts.size(); ++i)
      if (!parts[i].empty() && !ascii::iequals(parts[i], "none")) aar += "; " + parts[i];
  }
  out.aar = aar;

  // AMS (4.1.2): relaxed/relaxed, bottom-up selection of h= (RFC 6376 5.4.2).
  dkim::body_hasher bh(dkim::canon::relaxed, dkim::hash_alg::sha256, std::nullopt);
  bh.update(std::string_view(text).substr(std::min(hb.body_offset, text.size())));
  std::string body_hash = base64(bh.finish());
  std::string h;
  for (const auto& name : o.headers) h += (h.empty() ? "" : ":") + ascii::lower(name);
  std::unordered_map<std::string, std::vector<std::size_t>> by_name;
  for (std::size_t i = 0; i < hb.fields.size(); ++i)
    by_name[ascii::lower(hb.fields[i].name)].push_back(i);
  std::string input;
  std::unordered_map<std::string, std::size_t> used;
  for (const auto& name : o.headers) {
    std::string lname = ascii::lower(name);
    auto it = by_name.find(lname);
    std::size_t& u = used[lname];
    if (it == by_name.end() || u >= it->second.size()) continue;
    const auto& fld = hb.fields[it->second[it->second.size() - 1 - u]];
    ++u;
    dkim::canon_header(dkim::canon::relaxed, fld.raw, fld.name, fld.value, input);
  }
  auto ams_tags = [&](std::string_view b) {
    return fmt::format("a=rsa-sha256; b={}; bh={}; c=relaxed/relaxed; d={}; h={}; i={}; s={}; t={}",
                       b, body_hash, o.domain, h, out.instance, o.selector, o.timestamp);
  };
  relaxed("ARC-Message-Signature", " " + ams_tags(""), input, false);
  auto ams_b = rsa_sha256(key->get(), input);
  if (!ams_b) return std::unexpected(ams_b.error());
  out.ams = ams_tags(*ams_b);

  // AS (5.1.1): the ARC sets 1..N in order, then ours; relaxed; own b= empty.
  auto as_tags = [&](std::string_view b) {
    return fmt::format("a=rsa-sha256; b={}; cv={}; d={}; i={}; s={}; t={}", b, cv, o.domain,
                       out.instance, o.selector, o.timestamp);
  };
  std::string sin;
  if (incoming.cv != chain_result::fail) {
    for (int i = 1; i <= n; ++i) {
      std::string want = "i=" + std::to_string(i);
      for (const char* name : {"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"}) {
        for (const auto& f : hb.fields) {
          if (!mail::name_is(f, name)) continue;
          // The instance: the AAR's leading "i=N;" (4.1.1), the i= tag of AMS and AS.
          bool match = false;
          if (mail::name_is(f, "ARC-Authentication-Results")) {
            std::string head;
            for (char c : f.value.substr(0, f.value.find(';')))
              if (c != ' ' && c != '\t' && c != '\r' && c != '\n') head += c;
            match = head == want;
          } else if (auto tl = dkim::parse_tag_list(f.value)) {
            auto* t = tl->find("i");
            match = t && "i=" + std::string(t->value) == want;
          }
          if (!match) continue;
          dkim::canon_header(dkim::canon::relaxed, f.raw, f.name, f.value, sin);
          break;
        }
      }
    }
  }
  relaxed("ARC-Authentication-Results", " " + out.aar, sin);
  relaxed("ARC-Message-Signature", " " + out.ams, sin);
  relaxed("ARC-Seal", " " + as_tags(""), sin, false);
  auto as_b = rsa_sha256(key->get(), sin);
  if (!as_b) return std::unexpected(as_b.error());
  out.seal = as_tags(*as_b);
  return std::optional<arc_set>{std::move(out)};
}

}  // namespace mxg::arc
