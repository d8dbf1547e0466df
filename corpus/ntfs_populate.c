/* ntfs_populate: copies a directory tree into an NTFS volume file with libntfs-3g, without
 * mounting it (no root, no FUSE).
 *
 *     ntfs_populate VOLUME SOURCE_DIR [TIMES_FILE]
 *
 * TIMES_FILE, when given, sets the four $STANDARD_INFORMATION times of the files it names, so a
 * fixture carries known times (issue 20: an infected file whose MFT change time is later than its
 * restored write time, a patched kernel's write time, a clean file whose times agree). One line per
 * file: its path below SOURCE_DIR ('/'-separated, as copied), then created, modified, accessed and
 * MFT-changed as POSIX seconds (UTC), separated by tabs. Every named file must be copied, and no
 * file named twice; the times are set once every file is copied (set_times).
 *
 * VOLUME is a file holding an NTFS file system (made by `mkntfs -F -f -q VOLUME`); SOURCE_DIR's
 * directories and regular files are created below the volume's root with the same names (case
 * kept, Win32-compatible names only) and the same bytes. Entries are created in name order so
 * two runs over the same tree allocate the same MFT records. Anything but a directory or a
 * regular file (symlink, FIFO, ...) is refused: the corpus trees hold none, and a copy that left
 * something out would make a fixture whose manifest lies.
 *
 * Used by corpus/build_images.py; built by corpus/CMakeLists.txt with the host C compiler.
 * Exit status 0 on success, 1 with a message on stderr on any error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/ntfstime.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

/* Limits: the corpus trees are a few levels deep and under a megabyte; these only stop a wrong
 * SOURCE_DIR from filling the volume or recursing without end. */
enum {
  MAX_DEPTH = 32,       /* directory nesting below SOURCE_DIR */
  MAX_ENTRIES = 100000, /* files and directories copied in total */
  MAX_NAME_UNITS = 255, /* NTFS file name length in UTF-16 units */
  COPY_CHUNK = 1 << 16, /* bytes per read/write */
};
#define MAX_FILE_SIZE ((off_t)256 << 20) /* one file's size */
enum {
  MAX_TIMED_FILES = 1000, /* lines of TIMES_FILE */
  MAX_TIMES_LINE = 4096,  /* bytes of one line */
};

static const char* volume_path;
static long entries_copied;

/* TIMES_FILE's lines: a path below SOURCE_DIR (starting with '/', as `shown`) and its times. */
struct timed_file {
  char* path;
  long long created, modified, accessed, mft_changed;
};
static struct timed_file timed[MAX_TIMED_FILES];
static int timed_count;

static int fail(const char* what, const char* path, int err) {
  fprintf(stderr, "ntfs_populate: %s: %s: %s\n", volume_path, what, path);
  if (err) fprintf(stderr, "ntfs_populate:   %s\n", strerror(err));
  return -1;
}

/* Creates NAME (a directory or an empty regular file) in DIR_NI; returns the open inode. */
static ntfs_inode* create_entry(ntfs_inode* dir_ni, const char* name, mode_t type, const char* shown) {
  ntfschar* uname = NULL;
  int len = ntfs_mbstoucs(name, &uname);
  if (len <= 0) {
    fail("name is not valid in the current character set", shown, errno);
    return NULL;
  }
  if (len > MAX_NAME_UNITS) {
    free(uname);
    fail("name longer than 255 UTF-16 units", shown, 0);
    return NULL;
  }
  ntfs_inode* ni = ntfs_create(dir_ni, const_cpu_to_le32(0), uname, (u8)len, type);
  int err = errno;
  free(uname);
  if (!ni) fail("ntfs_create failed", shown, err);
  return ni;
}

static int read_times(const char* times_path) {
  FILE* f = fopen(times_path, "r");
  if (!f) return fail("cannot open the times file", times_path, errno);
  char line[MAX_TIMES_LINE];
  int status = 0;
  while (status == 0 && fgets(line, sizeof line, f)) {
    if (line[0] == '\n' || line[0] == '#') continue;
    if (timed_count == MAX_TIMED_FILES) {
      status = fail("more than 1000 lines", times_path, 0);
      break;
    }
    char* tab = strchr(line, '\t');
    struct timed_file* t = &timed[timed_count];
    if (!tab ||
        sscanf(tab + 1, "%lld\t%lld\t%lld\t%lld", &t->created, &t->modified, &t->accessed, &t->mft_changed) != 4) {
      status = fail("line is not PATH<TAB>created<TAB>modified<TAB>accessed<TAB>mft_changed", times_path, 0);
      break;
    }
    *tab = '\0';
    if (asprintf(&t->path, "/%s", line) < 0) {
      status = fail("out of memory", times_path, ENOMEM);
      break;
    }
    for (int i = 0; i < timed_count; ++i)
      if (strcmp(timed[i].path, t->path) == 0) status = fail("file named twice in the times file", t->path, 0);
    ++timed_count;
  }
  if (status == 0 && ferror(f)) status = fail("read failed", times_path, errno);
  fclose(f);
  return status;
}

static ntfs_time ntfs_seconds(long long seconds) {
  struct timespec spec = {(time_t)seconds, 0};
  return timespec2ntfs(spec);
}

/* Sets the $STANDARD_INFORMATION times TIMES_FILE gives, once every file is copied: each file is
 * opened again by path and only its MFT record is written (its $FILE_NAME and the directory's
 * index entry keep the times of its creation, as Windows' SetFileTime leaves them; rewriting the
 * index entries here would leave stale copies of them in the index blocks). */
static int set_times(ntfs_volume* vol) {
  int status = 0;
  for (int i = 0; i < timed_count && status == 0; ++i) {
    ntfs_inode* ni = ntfs_pathname_to_inode(vol, NULL, timed[i].path);
    if (!ni) {
      status = fail("named in the times file but not copied", timed[i].path, errno);
      break;
    }
    ni->creation_time = ntfs_seconds(timed[i].created);
    ni->last_data_change_time = ntfs_seconds(timed[i].modified);
    ni->last_access_time = ntfs_seconds(timed[i].accessed);
    ni->last_mft_change_time = ntfs_seconds(timed[i].mft_changed);
    ntfs_inode_mark_dirty(ni);
    if (ntfs_inode_close(ni) != 0) status = fail("writing the times failed", timed[i].path, errno);
  }
  return status;
}

static int copy_file(ntfs_inode* ni, const char* source, const char* shown) {
  int fd = open(source, O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return fail("cannot open", source, errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE) {
    close(fd);
    return fail("not a regular file of at most 256 MiB", source, 0);
  }
  ntfs_attr* na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
  if (!na) {
    close(fd);
    return fail("cannot open the $DATA attribute", shown, errno);
  }
  static char buffer[COPY_CHUNK];
  s64 offset = 0;
  int status = 0;
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0) {
      status = fail("read failed", source, errno);
      break;
    }
    if (got == 0) break;
    s64 done = 0;
    while (done < got) {
      s64 wrote = ntfs_attr_pwrite(na, offset + done, got - done, buffer + done);
      if (wrote <= 0) {
        status = fail("ntfs_attr_pwrite failed", shown, errno);
        break;
      }
      done += wrote;
    }
    if (status != 0) break;
    offset += got;
    if (offset > MAX_FILE_SIZE) {
      status = fail("file grew beyond 256 MiB while copied", source, 0);
      break;
    }
  }
  ntfs_attr_close(na);
  close(fd);
  if (status == 0 && offset != st.st_size) status = fail("file changed size while copied", source, 0);
  return status;
}

static int by_name(const struct dirent** a, const struct dirent** b) { return strcmp((*a)->d_name, (*b)->d_name); }

/* Copies the contents of the host directory SOURCE into the volume directory DIR_NI. */
static int copy_tree(ntfs_inode* dir_ni, const char* source, const char* shown, int depth) {
  if (depth > MAX_DEPTH) return fail("directories nested deeper than 32 levels", shown, 0);
  struct dirent** names = NULL;
  int count = scandir(source, &names, NULL, by_name);
  if (count < 0) return fail("cannot list", source, errno);
  int status = 0;
  for (int i = 0; i < count; ++i) {
    const char* name = names[i]->d_name;
    if (status != 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    if (++entries_copied > MAX_ENTRIES) {
      status = fail("more than 100000 entries", source, 0);
      continue;
    }
    char *child = NULL, *child_shown = NULL;
    if (asprintf(&child, "%s/%s", source, name) < 0 || asprintf(&child_shown, "%s/%s", shown, name) < 0) {
      free(child);
      status = fail("out of memory", source, ENOMEM);
      continue;
    }
    struct stat st;
    if (lstat(child, &st) != 0) {
      status = fail("cannot stat", child, errno);
    } else if (S_ISDIR(st.st_mode)) {
      /* Children are closed with ntfs_inode_close_in_dir(): closing syncs the child's
       * FILE_NAME into its parent's index, and the parent's new entries are still only in
       * this open inode, not yet on the disk. */
      ntfs_inode* ni = create_entry(dir_ni, name, S_IFDIR, child_shown);
      if (!ni)
        status = -1;
      else {
        status = copy_tree(ni, child, child_shown, depth + 1);
        if (ntfs_inode_close_in_dir(ni, dir_ni) != 0 && status == 0)
          status = fail("closing the directory failed", child_shown, errno);
      }
    } else if (S_ISREG(st.st_mode)) {
      ntfs_inode* ni = create_entry(dir_ni, name, S_IFREG, child_shown);
      if (!ni)
        status = -1;
      else {
        status = copy_file(ni, child, child_shown);
        if (ntfs_inode_close_in_dir(ni, dir_ni) != 0 && status == 0)
          status = fail("closing the file failed", child_shown, errno);
      }
    } else {
      status = fail("neither a directory nor a regular file", child, 0);
    }
    free(child);
    free(child_shown);
  }
  for (int i = 0; i < count; ++i) free(names[i]);
  free(names);
  return status;
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr,
            "usage: ntfs_populate VOLUME SOURCE_DIR [TIMES_FILE]\n"
            "copies SOURCE_DIR's files and directories into the NTFS volume file VOLUME\n"
            "(TIMES_FILE: PATH created modified accessed mft_changed, tab-separated, POSIX seconds)\n");
    return 2;
  }
  volume_path = argv[1];
  if (argc == 4 && read_times(argv[3]) != 0) return 1;
  struct stat st;
  if (stat(argv[2], &st) != 0 || !S_ISDIR(st.st_mode)) {
    fail("not a directory", argv[2], errno);
    return 1;
  }
  /* libntfs-3g logs through its own handler; keep its errors, drop its chatter. */
  ntfs_log_set_handler(ntfs_log_handler_stderr);
  ntfs_log_set_levels(NTFS_LOG_LEVEL_ERROR | NTFS_LOG_LEVEL_PERROR | NTFS_LOG_LEVEL_CRITICAL);
  ntfs_volume* vol = ntfs_mount(volume_path, NTFS_MNT_EXCLUSIVE);
  if (!vol) {
    fail("cannot open the NTFS volume", volume_path, errno);
    return 1;
  }
  int status = -1;
  ntfs_inode* root = ntfs_pathname_to_inode(vol, NULL, "/");
  if (!root)
    fail("cannot open the root directory", "/", errno);
  else {
    status = copy_tree(root, argv[2], "", 0);
    if (ntfs_inode_close(root) != 0 && status == 0) status = fail("closing the root directory failed", "/", errno);
    if (status == 0) status = set_times(vol);
  }
  if (ntfs_umount(vol, FALSE) != 0 && status == 0) status = fail("unmounting failed", volume_path, errno);
  for (int i = 0; i < timed_count; ++i) free(timed[i].path);
  return status == 0 ? 0 : 1;
}
