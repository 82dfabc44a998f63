// The inline parts of the --html page: style, body skeleton and script.
// Hand-written (no library, nothing fetched when the page opens), kept as
// real files in src/report_html/assets/ and embedded at build time by
// cmake/embed_assets.cmake (`node --check` tests the script); the
// script reads the JSON block with id "report-data" that report_html.cc
// writes between the body and the script.
#pragma once

namespace tcpscribe::html_assets {

extern const char kStyle[];
extern const char kBody[];
extern const char kScript[];

}  // namespace tcpscribe::html_assets
