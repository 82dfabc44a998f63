/* The file system's share of a reconstruction run: creates, writes and
 * closes every file of one capture listed in a manifest (bench/offline.sh),
 * one after the other, with the sizes the tools write, and does nothing
 * else. Its time is a floor for any tool that writes the same files into
 * the same kind of directory.
 *
 *   create_floor MANIFEST CAPTURE_NAME OUTDIR
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: create_floor MANIFEST CAPTURE_NAME OUTDIR\n");
    return 2;
  }
  FILE* m = fopen(argv[1], "r");
  if (!m) {
    perror(argv[1]);
    return 2;
  }
  const int dir = open(argv[3], O_RDONLY | O_DIRECTORY);
  if (dir < 0) {
    perror(argv[3]);
    return 2;
  }
  static char buf[1 << 20];
  memset(buf, 'x', sizeof buf);
  char cap[256], name[512], sha[128];
  unsigned long long size;
  while (fscanf(m, "%255s %511s %llu %127s", cap, name, &size, sha) == 4) {
    if (strcmp(cap, argv[2]) != 0) continue;
    const int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      perror(name);
      return 1;
    }
    for (unsigned long long left = size; left > 0;) {
      const size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
      const ssize_t w = write(fd, buf, n);
      if (w <= 0) {
        perror(name);
        return 1;
      }
      left -= (unsigned long long)w;
    }
    if (close(fd) != 0) {
      perror(name);
      return 1;
    }
  }
  fclose(m);
  return 0;
}
