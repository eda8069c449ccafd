// report_container.cpp: finding the report XML inside what arrives: plain XML, gzip
// (RFC 1952; RFC 9990 "Email": application/gzip), zip (the PKWARE format many large
// receivers still send, through libzip), and mail messages (RFC 5322 / MIME through
// GMime) whose report is an attachment of any of the types real senders use.
// The kind is decided by content (magic bytes), never by the name alone.
// Security: all input is a stranger's. Caps: kReportFileMax on what is handed in,
// kReportXmlMax on every decompressed document (zip and gzip bombs stop there, whatever
// the headers claim), kReportZipEntriesMax entries, kReportMimeDepthMax nesting and
// kReportMimePartsMax parts. Zip entry names are only used as labels, never as paths.
#include <gmime/gmime.h>
#include <zip.h>

#include <memory>
#include <mutex>

#include "base/ascii.hpp"
#include "dmarc/report.hpp"

namespace mxg::dmarc {

namespace {

struct gobject_deleter {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using gptr = std::unique_ptr<T, gobject_deleter>;

enum class kind { xml, gzip, zip, mime };

kind sniff(std::string_view d) {
  if (d.size() >= 2 && static_cast<unsigned char>(d[0]) == 0x1f &&
      static_cast<unsigned char>(d[1]) == 0x8b)
    return kind::gzip;
  if (d.size() >= 4 && d.substr(0, 4) == std::string_view("PK\x03\x04", 4)) return kind::zip;
  std::size_t i = 0;
  if (d.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // UTF-8 BOM
  while (i < d.size() && ascii::is_space(static_cast<unsigned char>(d[i]))) ++i;
  if (i < d.size() && d[i] == '<') return kind::xml;
  return kind::mime;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && ascii::iequals(s.substr(s.size() - suffix.size()), suffix);
}

struct extractor {
  std::vector<report_blob> out;
  std::vector<std::string> errors;
  std::size_t parts = 0;

  void add(std::string_view data, const std::string& name, std::size_t depth) {
    if (depth > kReportMimeDepthMax) {
      errors.push_back(name + ": nested deeper than " + std::to_string(kReportMimeDepthMax));
      return;
    }
    switch (sniff(data)) {
      case kind::xml:
        if (data.size() > kReportXmlMax)
          errors.push_back(name + ": XML larger than " + std::to_string(kReportXmlMax) + " bytes");
        else
          out.push_back({name, std::string(data)});
        return;
      case kind::gzip: {
        auto x = gzip_decompress(data, kReportXmlMax);
        if (!x) {
          errors.push_back(name + ": " + x.error().message);
          return;
        }
        // A gzip of a zip or of a message is odd but harmless: look again.
        add(*x, name, depth + 1);
        return;
      }
      case kind::zip:
        unzip(data, name, depth);
        return;
      case kind::mime:
        mime(data, name, depth);
        return;
    }
  }

  void unzip(std::string_view data, const std::string& name, std::size_t depth) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_buffer_create(data.data(), data.size(), 0, &err);
    if (!src) {
      errors.push_back(name + ": zip: " + zip_error_strerror(&err));
      zip_error_fini(&err);
      return;
    }
    zip_t* z = zip_open_from_source(src, ZIP_RDONLY, &err);
    if (!z) {
      zip_source_free(src);
      errors.push_back(name + ": zip: " + zip_error_strerror(&err));
      zip_error_fini(&err);
      return;
    }
    zip_error_fini(&err);
    auto n = zip_get_num_entries(z, 0);
    if (n < 0) n = 0;
    if (static_cast<std::size_t>(n) > kReportZipEntriesMax) {
      errors.push_back(name + ": zip has more than " + std::to_string(kReportZipEntriesMax) +
                       " entries");
      zip_discard(z);
      return;
    }
    // Every *.xml entry; if there is none, the only file entry (senders name it oddly).
    std::vector<zip_uint64_t> pick;
    std::vector<zip_uint64_t> files;
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* en = zip_get_name(z, static_cast<zip_uint64_t>(i), 0);
      std::string_view sv = en ? en : "";
      if (sv.empty() || sv.back() == '/') continue;
      files.push_back(static_cast<zip_uint64_t>(i));
      if (ends_with_ci(sv, ".xml") || ends_with_ci(sv, ".xml.gz"))
        pick.push_back(static_cast<zip_uint64_t>(i));
    }
    if (pick.empty() && files.size() == 1) pick = files;
    if (pick.empty()) errors.push_back(name + ": zip holds no .xml entry");
    for (auto i : pick) {
      const char* en = zip_get_name(z, i, 0);
      std::string label = name + ":" + (en ? en : "?");
      zip_file_t* f = zip_fopen_index(z, i, 0);
      if (!f) {
        errors.push_back(label + ": zip: " + zip_strerror(z));
        continue;
      }
      // Read at most kReportXmlMax + 1 bytes whatever the entry's header claims.
      std::string content;
      char buf[64 * 1024];
      bool bad = false;
      while (true) {
        auto got = zip_fread(f, buf, sizeof buf);
        if (got < 0) {
          errors.push_back(label + ": zip: " + zip_file_strerror(f));
          bad = true;
          break;
        }
        if (got == 0) break;
        if (content.size() + static_cast<std::size_t>(got) > kReportXmlMax) {
          errors.push_back(label + ": decompresses to more than " + std::to_string(kReportXmlMax) +
                           " bytes");
          bad = true;
          break;
        }
        content.append(buf, static_cast<std::size_t>(got));
      }
      zip_fclose(f);
      if (!bad) add(content, label, depth + 1);
    }
    zip_discard(z);
  }

  // The decoded bytes of a leaf part (Content-Transfer-Encoding removed, RFC 2045 6).
  static std::string part_bytes(GMimePart* part) {
    std::string out;
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    if (!content) return out;
    gptr<GMimeStream> mem(g_mime_stream_mem_new());
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem.get()), TRUE);
    g_mime_data_wrapper_write_to_stream(content, mem.get());
    GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
    if (arr && arr->data) out.assign(reinterpret_cast<const char*>(arr->data), arr->len);
    return out;
  }

  // Is this leaf a report? By type, or by a report-like name with a generic type.
  static bool is_report_part(GMimeObject* obj, std::string_view filename) {
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    std::string type = ct && g_mime_content_type_get_media_type(ct)
                           ? ascii::lower(g_mime_content_type_get_media_type(ct))
                           : "";
    std::string sub = ct && g_mime_content_type_get_media_subtype(ct)
                          ? ascii::lower(g_mime_content_type_get_media_subtype(ct))
                          : "";
    std::string full = type + "/" + sub;
    static constexpr std::string_view kTypes[] = {
        "application/gzip",  "application/x-gzip",
        "application/zip",   "application/x-zip-compressed",
        "application/x-zip", "text/xml",
        "application/xml",   "application/x-gzip-compressed"};
    for (auto t : kTypes)
      if (full == t) return true;
    bool report_name = ends_with_ci(filename, ".xml") || ends_with_ci(filename, ".gz") ||
                       ends_with_ci(filename, ".zip");
    return report_name && (type == "application" || type == "text");
  }

  void walk(GMimeObject* obj, const std::string& name, std::size_t depth) {
    if (!obj) return;
    if (++parts > kReportMimePartsMax) {
      if (parts == kReportMimePartsMax + 1)
        errors.push_back(name + ": more than " + std::to_string(kReportMimePartsMax) +
                         " MIME parts");
      return;
    }
    if (depth > kReportMimeDepthMax) return;
    if (GMIME_IS_MULTIPART(obj)) {
      auto* mp = GMIME_MULTIPART(obj);
      int n = g_mime_multipart_get_count(mp);
      for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i), name, depth + 1);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {  // a forwarded report
      GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (m) walk(g_mime_message_get_mime_part(m), name, depth + 1);
      return;
    }
    if (!GMIME_IS_PART(obj)) return;
    auto* part = GMIME_PART(obj);
    const char* fn = g_mime_part_get_filename(part);
    std::string filename = fn ? fn : "";
    if (!is_report_part(obj, filename)) return;
    auto bytes = part_bytes(part);
    if (bytes.size() > kReportFileMax) {
      errors.push_back(name + ": attachment larger than " + std::to_string(kReportFileMax));
      return;
    }
    std::string label = name + ":" + (filename.empty() ? "attachment" : filename);
    std::size_t before = out.size(), errs = errors.size();
    add(bytes, label, depth + 1);
    // A text/xml-ish part that turned out to be no XML at all (sniffed as MIME) and
    // gave nothing: say so instead of silently dropping it.
    if (out.size() == before && errors.size() == errs)
      errors.push_back(label + ": attachment holds no report");
  }

  void mime(std::string_view data, const std::string& name, std::size_t depth) {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
    gptr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(data.data(), data.size()));
    gptr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
    gptr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!msg) {
      errors.push_back(name + ": neither XML, gzip, zip nor a mail message");
      return;
    }
    std::size_t before = out.size(), errs = errors.size();
    walk(g_mime_message_get_mime_part(msg.get()), name, depth);
    if (out.size() == before && errors.size() == errs)
      errors.push_back(name + ": no report attachment found in the message");
  }
};

}  // namespace

mxg::result<std::vector<report_blob>> extract_reports(std::string_view data,
                                                      std::string_view name) {
  if (data.size() > kReportFileMax)
    return fail(errc::limit_exceeded,
                std::string(name) + ": larger than " + std::to_string(kReportFileMax) + " bytes");
  extractor x;
  x.add(data, std::string(name), 0);
  if (x.out.empty()) {
    std::string why;
    for (const auto& e : x.errors) why += (why.empty() ? "" : "; ") + e;
    return fail(errc::parse_error, why.empty() ? std::string(name) + ": no report found" : why);
  }
  return std::move(x.out);
}

mxg::result<parsed_file> parse_report_data(std::string_view data, std::string_view name) {
  auto blobs = extract_reports(data, name);
  if (!blobs) return std::unexpected(blobs.error());
  parsed_file pf;
  for (auto& b : *blobs) {
    auto f = parse_xml(b.xml);
    if (!f) {
      pf.errors.push_back(b.name + ": " + f.error().message);
      continue;
    }
    pf.reports.push_back(std::move(*f));
    pf.names.push_back(b.name);
  }
  if (pf.reports.empty()) {
    std::string why;
    for (const auto& e : pf.errors) why += (why.empty() ? "" : "; ") + e;
    return fail(errc::parse_error, why);
  }
  return pf;
}

}  // namespace mxg::dmarc
