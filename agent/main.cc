// anteroom-agent: the waiting-room reverse proxy beside the application.

#include "agent/daemon.h"
#include "anteroom/v1/config.pb.h"
#include "common/daemon_main.h"

int main(int argc, char** argv) {
  anteroom::v1::AgentConfig config;
  using Message = google::protobuf::Message;
  return anteroom::common::DaemonMain(
      argc, argv, "anteroom-agent", config,
      {.resolve =
           [](Message& c) {
             return anteroom::agent::ResolveAgentConfig(static_cast<anteroom::v1::AgentConfig&>(c));
           },
       .run =
           [](const Message& c, const std::atomic<bool>& stop) {
             return anteroom::agent::RunAgent(static_cast<const anteroom::v1::AgentConfig&>(c),
                                              stop);
           }});
}
