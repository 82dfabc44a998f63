// Dropping root after the capture and the output are open (tcpdump -Z).
#pragma once

#include <string>
#include <vector>

namespace tcpscribe {

struct DropPlan {
  std::string user;
  std::string chroot_dir;      ///< empty: no chroot
  /// The output directory when this run created it (-1: none): handed to
  /// the user.
  int created_dir_fd = -1;
  /// Directories the user must be able to write into after the switch,
  /// each open, with how messages name it and what needs it.
  struct Dir {
    int fd;
    std::string path;
    std::string needed_by;
  };
  std::vector<Dir> writable;
  /// Files already open for writing that the user will rename (report
  /// temporaries): handed to the user so a sticky directory allows it.
  std::vector<int> files;
};

/// Switches to `plan.user` (supplementary groups, group, user, like
/// tcpdump -Z), after chrooting to `plan.chroot_dir` when it is not empty.
/// First, still as root, checks that the user may write into every
/// directory of `plan.writable`, so an output that can only be created or
/// renamed at the end is refused now rather than lost then; nothing is
/// switched when it fails. False and one line in `error` on failure.
bool drop_privileges(const DropPlan& plan, std::string& error);

}  // namespace tcpscribe
