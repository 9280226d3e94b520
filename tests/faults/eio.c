/* Fault injection for the I/O-error tests, loaded with LD_PRELOAD into a child process only;
 * SQLite's unix VFS calls these through the dynamic linker.
 *
 * While the file named by RAWDB_EIO_TRIGGER exists, every pwrite64(), write(), fsync() and
 * fdatasync() fails with EIO (a failing device).
 *
 * While the file named by RAWDB_EROFS_TRIGGER exists, the file system behaves as if remounted
 * read-only: those calls and ftruncate() fail with EROFS, and so does every open() that asks
 * for write access, so SQLite falls back to opening its files read-only, as it does on a real
 * read-only mount. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static int exists(const char *variable) {
    const char *trigger = getenv(variable);
    return trigger != NULL && access(trigger, F_OK) == 0;
}

/* The errno a write must fail with now, or 0 when writes work. */
static int write_error(void) {
    if (exists("RAWDB_EIO_TRIGGER")) return EIO;
    if (exists("RAWDB_EROFS_TRIGGER")) return EROFS;
    return 0;
}

static int refuses_open(int flags) {
    return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) && exists("RAWDB_EROFS_TRIGGER");
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwrite64");
    int error = write_error();
    if (error) { errno = error; return -1; }
    return real(fd, buf, count, offset);
}

ssize_t write(int fd, const void *buf, size_t count) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = dlsym(RTLD_NEXT, "write");
    int error = fd > 2 ? write_error() : 0;
    if (error) { errno = error; return -1; }
    return real(fd, buf, count);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fsync");
    int error = write_error();
    if (error) { errno = error; return -1; }
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
    int error = write_error();
    if (error) { errno = error; return -1; }
    return real(fd);
}

int ftruncate64(int fd, off_t length) {
    static int (*real)(int, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "ftruncate64");
    if (exists("RAWDB_EROFS_TRIGGER")) { errno = EROFS; return -1; }
    return real(fd, length);
}

int ftruncate(int fd, off_t length) {
    static int (*real)(int, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "ftruncate");
    if (exists("RAWDB_EROFS_TRIGGER")) { errno = EROFS; return -1; }
    return real(fd, length);
}

#define OPEN_HOOK(name)                                                      \
    int name(const char *path, int flags, ...) {                            \
        static int (*real)(const char *, int, ...);                          \
        if (!real) real = dlsym(RTLD_NEXT, #name);                           \
        mode_t mode = 0;                                                     \
        if (flags & (O_CREAT | __O_TMPFILE)) {                               \
            va_list args;                                                    \
            va_start(args, flags);                                           \
            mode = va_arg(args, mode_t);                                     \
            va_end(args);                                                    \
        }                                                                    \
        if (refuses_open(flags)) { errno = EROFS; return -1; }               \
        return real(path, flags, mode);                                      \
    }

OPEN_HOOK(open)
OPEN_HOOK(open64)
