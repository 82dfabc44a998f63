// Dropping root after the capture and the output are open (tcpdump -Z).
#pragma once

#include <string>

namespace tcpscribe {

/// Switches to `user` (supplementary groups, group, user, like tcpdump -Z),
/// after chrooting to `chroot_dir` when it is not empty. The output
/// directory (`outdir_fd`, -1 for none) is handed to the user when this
/// run created it, and must be writable by the user afterwards.
bool drop_privileges(const std::string& user, const std::string& chroot_dir, int outdir_fd,
                     bool created_outdir, std::string& error);

}  // namespace tcpscribe
