// anteroom-coordinator: owns waiting rooms, decides who enters, serves agents and operators.

#include "anteroom/v1/config.pb.h"
#include "common/daemon_main.h"
#include "coordinator/daemon.h"

int main(int argc, char** argv) {
  anteroom::v1::CoordinatorConfig config;
  using Message = google::protobuf::Message;
  return anteroom::common::DaemonMain(
      argc, argv, "anteroom-coordinator", config,
      {.resolve =
           [](Message& c) {
             return anteroom::coordinator::ResolveConfig(
                 static_cast<anteroom::v1::CoordinatorConfig&>(c));
           },
       .run =
           [](const Message& c, const std::atomic<bool>& stop) {
             return anteroom::coordinator::RunCoordinator(
                 static_cast<const anteroom::v1::CoordinatorConfig&>(c), stop);
           }});
}
