// forms_audit.cpp: `mxguard forms audit PATH|URL... [--crawl N] [--json]`, the web-form
// relay auditor (issue 4 section 4). Exit status: 0 no open-relay enabler, 1 at least one,
// 2 usage error or a target that could not be audited. See docs/forms.md.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/registry.hpp"
#include "forms/audit.hpp"
#include "forms/limits.hpp"

namespace {

struct forms_opts {
  std::vector<std::string> targets;
  std::string crawl = "1";
  bool json = false;
};

mxg::cli::registration reg(400, [](CLI::App& root, int& exit_code) {
  auto* forms = root.add_subcommand("forms", "Web-form relay auditor");
  forms->require_subcommand(1);
  auto opts = std::make_shared<forms_opts>();
  auto* audit = forms->add_subcommand(
      "audit",
      "Find HTML forms that let anyone send mail through a site (sender + recipient + free "
      "text, no captcha).");
  audit->footer(
      "Targets: HTML files, directories (searched recursively for .html .htm .xhtml .shtml\n"
      ".php .phtml .asp .aspx .jsp .cfm), or http:// URLs on a loopback host (127.0.0.0/8,\n"
      "localhost, [::1]); any other host is refused.\n"
      "Verdicts: open-relay-enabler, risky, ok (rules in docs/forms.md).\n"
      "Exit status: 0 no open-relay enabler found, 1 an open-relay enabler found,\n"
      "2 usage error or a target that could not be read, fetched or parsed.");
  audit->add_option("targets", opts->targets, "HTML files, directories or loopback URLs");
  audit
      ->add_option("--crawl", opts->crawl,
                   "Pages fetched per URL, the URL included, following same-site links "
                   "(default 1: only the given page)")
      ->type_name("N");
  audit->add_flag("--json", opts->json, "Machine-readable output");
  audit->callback([opts, &exit_code] {
    if (opts->targets.empty()) {
      std::fprintf(stderr, "mxguard forms audit: give at least one file, directory or URL\n");
      exit_code = 2;
      return;
    }
    mxg::forms::audit_options ao;
    try {
      std::size_t used = 0;
      long n = std::stol(opts->crawl, &used);
      if (used != opts->crawl.size() || n < 1 || n > mxg::forms::limits::kMaxCrawlPages)
        throw std::out_of_range("crawl");
      ao.crawl = static_cast<int>(n);
    } catch (const std::exception&) {
      std::fprintf(stderr, "mxguard forms audit: --crawl wants a number of pages from 1 to %d\n",
                   mxg::forms::limits::kMaxCrawlPages);
      exit_code = 2;
      return;
    }
    auto summary = mxg::forms::run_audit(opts->targets, ao);
    if (opts->json) {
      // Pages may hold invalid UTF-8: replace it rather than fail the report.
      std::printf("%s\n", mxg::forms::to_json(summary)
                              .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                              .c_str());
    } else {
      std::fputs(mxg::forms::render_table(summary).c_str(), stdout);
    }
    for (auto& p : summary.pages)
      if (!p.error.empty() && p.fatal)
        std::fprintf(stderr, "mxguard forms audit: %s\n", p.error.c_str());
    exit_code = mxg::forms::exit_status(summary);
  });
});

}  // namespace
