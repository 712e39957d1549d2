// podtape-sim's HTTP(S)/WebSocket server: discovery, pods, logs, SelfSubjectReview, exec and
// attach, on one io_context thread. The only Beast unit of the simulator (server.cc).
#ifndef PODTAPE_SAMPLES_SIM_SERVER_H_
#define PODTAPE_SAMPLES_SIM_SERVER_H_

#include <string>

#include "samples/sim/config.h"
#include "schema/status.h"

namespace podtape::sim {

struct ServerOptions {
  Config config;
  std::string listen = "127.0.0.1:0";  // HOST:PORT, numeric host; port 0 picks a free one
  std::string tls_dir;                 // empty: plain HTTP (loopback addresses only)
  int verbosity = 0;                   // 1: one line per request on stderr; 2: frames too
};

// Binds, prints "listening on URL" as the first stdout line (flushed), serves until SIGTERM or
// SIGINT, then kills every process it started and returns. Errors before serving are returned.
Status RunServer(const ServerOptions& options);

}  // namespace podtape::sim

#endif  // PODTAPE_SAMPLES_SIM_SERVER_H_
