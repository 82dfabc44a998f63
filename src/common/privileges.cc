#include "privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tcpscribe {

bool drop_privileges(const std::string& user, const std::string& chroot_dir, int outdir_fd,
                     bool created_outdir, std::string& error) {
  errno = 0;
  const struct passwd* pw = getpwnam(user.c_str());
  if (!pw) {
    error = "-U: no such user '" + user + "'";
    return false;
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  if (geteuid() != 0) {
    if (geteuid() == uid && chroot_dir.empty()) return true;  // already that user
    error = "-U " + user + ": switching users needs root (run with sudo)";
    return false;
  }
  if (outdir_fd >= 0 && created_outdir && fchown(outdir_fd, uid, gid) != 0) {
    error = "-U " + user + ": cannot hand the output directory over: " + std::strerror(errno);
    return false;
  }
  if (!chroot_dir.empty()) {
    if (chroot(chroot_dir.c_str()) != 0 || chdir("/") != 0) {
      error = "-z " + chroot_dir + ": cannot chroot: " + std::strerror(errno);
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
  if (outdir_fd >= 0 && faccessat(outdir_fd, ".", W_OK | X_OK, 0) != 0) {
    error = "-U " + user + ": the user cannot write into the output directory (" +
            std::strerror(errno) + "); give it a directory it owns";
    return false;
  }
  return true;
}

}  // namespace tcpscribe
