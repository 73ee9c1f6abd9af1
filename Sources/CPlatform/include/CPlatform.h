#ifndef BREAKER_RUN_CPLATFORM_H
#define BREAKER_RUN_CPLATFORM_H

#include <spawn.h>

/// posix_spawn_file_actions_addchdir_np(3) (glibc 2.29, musl 1.1.24): the
/// child changes to `path` before it execs. Declared here because Swift's
/// Glibc module imports <spawn.h> without _GNU_SOURCE, which hides it.
/// Returns 0, or an error number (ENOMEM, or ENOSYS where the C library
/// lacks the call).
int breaker_run_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np(3) (glibc 2.34): the child closes
/// every descriptor from `lowest` up before it execs. Returns 0, or an error
/// number (EBADF, ENOMEM, or ENOSYS where the C library lacks the call).
int breaker_run_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);

/// POSIX_SPAWN_SETSID (glibc 2.26, musl 1.1.24; POSIX 2024): the child
/// starts a session of its own (setsid(2)). A function, for the reason
/// above: the constant is hidden without _GNU_SOURCE.
short breaker_run_spawn_setsid_flag(void);

/// In a statically linked binary (no program interpreter: AT_BASE is 0),
/// limits glibc's name service lookups to the modules built into libc:
/// `files` for users and groups, `files dns` for hosts. Any other module
/// named in /etc/nsswitch.conf (systemd, resolve, sss, ldap) would be
/// loaded with dlopen(3) from the system's shared glibc into a process
/// that carries its own, which glibc does not support and which crashes.
/// Does nothing in a dynamically linked binary, or under another C library.
void breaker_run_limit_static_name_services(void);

#endif
