// tcpflow's file-name templates: %A.%a-%B.%b%V%v%C%c and friends.
#pragma once

#include <string>

#include "tcpscribe/sink.h"

namespace tcpscribe {

/// tcpflow's default template.
inline constexpr const char* kDefaultTemplate = "%A.%a-%B.%b%V%v%C%c";

/// Applies tcpflow's -F letters (c t T k m g; X and M are handled by the
/// caller) to a template. Returns false on an unknown letter.
bool apply_name_prefixes(const std::string& letters, std::string& tmpl,
                         std::string& error);

/// Expands `tmpl` for one direction of a connection. The connection count
/// (%c, %C, %#) is the connection's index on its 4-tuple; %N %K %M %G bin
/// the connection's serial number like tcpflow's -Fk/-Fm/-Fg.
std::string expand_name(const std::string& tmpl, const Connection& c, Dir d);

/// Checks a template for unknown % escapes.
bool validate_template(const std::string& tmpl, std::string& error);

}  // namespace tcpscribe
