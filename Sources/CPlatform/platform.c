// glibc calls the Swift side cannot make directly: the posix_spawn file
// actions that glibc declares only under _GNU_SOURCE, and the name service
// limits of a static binary. The spawn wrappers: declared only under
// _GNU_SOURCE. Called directly rather than looked up with dlsym(3), which
// finds nothing in a statically linked executable (the core binary).
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include "CPlatform.h"

int breaker_run_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
    return posix_spawn_file_actions_addchdir_np(actions, path);
#elif !defined(__GLIBC__)
    return posix_spawn_file_actions_addchdir_np(actions, path);
#else
    (void)actions; (void)path;
    return ENOSYS;
#endif
}

int breaker_run_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
#else
    (void)actions; (void)lowest;
    return ENOSYS;
#endif
}

#if defined(__GLIBC__)
#include <nss.h>
#include <sys/auxv.h>
#endif

void breaker_run_limit_static_name_services(void) {
#if defined(__GLIBC__)
    if (getauxval(AT_BASE) != 0) return;  // ld.so is there: a dynamic binary.
    __nss_configure_lookup("passwd", "files");
    __nss_configure_lookup("group", "files");
    __nss_configure_lookup("hosts", "files dns");
#endif
}

short breaker_run_spawn_setsid_flag(void) {
    return POSIX_SPAWN_SETSID;
}
