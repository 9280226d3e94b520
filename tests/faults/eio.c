/* Fault injection for the I/O-error tests, loaded with LD_PRELOAD into a child process only;
 * SQLite's unix VFS calls these through the dynamic linker.
 *
 * While the file named by RAWDB_EIO_TRIGGER exists, every pwrite64(), write(), fsync() and
 * fdatasync() fails with EIO (a failing device).
 *
 * While the file named by RAWDB_EROFS_TRIGGER exists, the file system behaves as if remounted
 * read-only: those calls and ftruncate() fail with EROFS, and so does every open() that asks
 * for write access, so SQLite falls back to opening its files read-only, as it does on a real
 * read-only mount.
 *
 * With RAWDB_KILL_DATABASE=FILE and RAWDB_KILL_AT=N, the process kills itself with SIGKILL at
 * the Nth write, sync, truncate or unlink it makes while FILE-journal exists: inside a
 * rollback-journal transaction on FILE (such as the switch of a legacy database to WAL), at
 * an exact step of it, which a timer cannot hit. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
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

/* Counts the steps taken while the journal exists; kills the process at the chosen one. */
static void journal_step(void) {
    const char *database = getenv("RAWDB_KILL_DATABASE");
    const char *at = getenv("RAWDB_KILL_AT");
    static long steps;
    char journal[4096];
    if (database == NULL || at == NULL) return;
    if (snprintf(journal, sizeof journal, "%s-journal", database) >= (int)sizeof journal) return;
    if (access(journal, F_OK) != 0) return;
    if (++steps == atol(at)) raise(SIGKILL);
}

/* The errno a write must fail with now, or 0 when writes work. */
static int write_error(void) {
    journal_step();
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
    journal_step();
    if (exists("RAWDB_EROFS_TRIGGER")) { errno = EROFS; return -1; }
    return real(fd, length);
}

int ftruncate(int fd, off_t length) {
    static int (*real)(int, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "ftruncate");
    journal_step();
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

int unlink(const char *path) {
    static int (*real)(const char *);
    if (!real) real = dlsym(RTLD_NEXT, "unlink");
    journal_step();
    return real(path);
}
