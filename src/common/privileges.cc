#include "privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace tcpscribe {
namespace {

/// Whether the user (uid, gid, groups) may create files in each directory:
/// asked of the kernel with the user's identity as the effective one
/// (permissions, ACLs, read-only mounts), then root's identity is restored.
bool check_as_user(const DropPlan& plan, uid_t uid, gid_t gid, std::string& error) {
  if (plan.writable.empty()) return true;
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (getgrouplist(plan.user.c_str(), gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n));
    getgrouplist(plan.user.c_str(), gid, groups.data(), &n);
  }
  groups.resize(static_cast<size_t>(n));
  std::vector<gid_t> saved(static_cast<size_t>(std::max(getgroups(0, nullptr), 0)));
  const gid_t saved_egid = getegid();
  if (getgroups(static_cast<int>(saved.size()), saved.data()) < 0 ||
      setgroups(groups.size(), groups.data()) != 0 || setegid(gid) != 0 || seteuid(uid) != 0) {
    error = "-U " + plan.user + ": cannot check what the user may write: " + std::strerror(errno);
    if (seteuid(0) != 0 || setegid(saved_egid) != 0 ||
        setgroups(saved.size(), saved.data()) != 0) {
      error += " (and root could not be restored)";
    }
    return false;
  }
  const DropPlan::Dir* denied = nullptr;
  int why = 0;
  for (const DropPlan::Dir& d : plan.writable) {
    if (faccessat(d.fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
      denied = &d;
      why = errno;
      break;
    }
  }
  if (seteuid(0) != 0 || setegid(saved_egid) != 0 ||
      setgroups(saved.size(), saved.data()) != 0) {
    error = "-U " + plan.user + ": cannot return to root after checking: " + std::strerror(errno);
    return false;
  }
  if (denied) {
    error = "-U " + plan.user + ": the user cannot write into " + denied->path + " (" +
            std::strerror(why) + "), where " + denied->needed_by +
            "; give a directory the user can write, or run without -U";
    return false;
  }
  return true;
}

}  // namespace

bool drop_privileges(const DropPlan& plan, std::string& error) {
  const std::string& user = plan.user;
  errno = 0;
  const struct passwd* pw = getpwnam(user.c_str());
  if (!pw) {
    error = "-U: no such user '" + user + "'";
    return false;
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  if (geteuid() != 0) {
    if (geteuid() == uid && plan.chroot_dir.empty()) return true;  // already that user
    error = "-U " + user + ": switching users needs root (run with sudo)";
    return false;
  }
  if (plan.created_dir_fd >= 0 && fchown(plan.created_dir_fd, uid, gid) != 0) {
    error = "-U " + user + ": cannot hand the output directory over: " + std::strerror(errno);
    return false;
  }
  for (int fd : plan.files) {
    if (fchown(fd, uid, gid) != 0) {
      error = "-U " + user + ": cannot hand a report file over: " + std::strerror(errno);
      return false;
    }
  }
  if (!check_as_user(plan, uid, gid, error)) return false;
  if (!plan.chroot_dir.empty()) {
    if (chroot(plan.chroot_dir.c_str()) != 0 || chdir("/") != 0) {
      error = "-z " + plan.chroot_dir + ": cannot chroot: " + std::strerror(errno);
      return false;
    }
  }
  if (initgroups(user.c_str(), gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
    error = "-U " + user + ": cannot switch to the user: " + std::strerror(errno);
    return false;
  }
  if (uid != 0 && setuid(0) == 0) {
    error = "-U " + user + ": root could be regained; refusing to go on";
    return false;
  }
  return true;
}

}  // namespace tcpscribe
