// Waiting for this process's reader to take what it wrote to stdout and stderr.
//
// Why: MPI_Abort tells the launcher to end the job, and MPICH's mpiexec (hydra) exits as soon as
// that word reaches it; lines the rank wrote just before (which rank failed, and why) but that
// the launcher had not read from the rank's pipe yet are lost. Waiting until the pipe is empty
// before aborting keeps them: the launcher forwards what it reads before it reads the abort.
#pragma once

#include <cstddef>

namespace ptflow_mpi {

// Bytes written to `fd` that its reader has not taken: a pipe's unread bytes (FIONREAD), a
// socket's unsent or unacknowledged ones (SIOCOUTQ, Linux). 0 for files, terminals, or when the
// descriptor cannot be asked.
size_t unreadOutput(int fd);

// Waits, polling each millisecond, until stdout and stderr have no unread bytes, or `timeoutMs`
// has passed (a reader that never reads must not hold the abort forever). True when they drained.
bool waitOutputTaken(int timeoutMs);

}  // namespace ptflow_mpi
