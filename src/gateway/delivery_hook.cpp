// delivery_hook.cpp: see delivery_hook.hpp.
// TODO(delivery): call the scheduler of src/delivery once its public API lands;
// until then committed messages stay queued (safe: nothing is lost or sent twice)
// and `queue run` reports that delivery is not available in this build.
#include "gateway/delivery_hook.hpp"

#include <spdlog/spdlog.h>

#include "gateway/server.hpp"

namespace mxg::gateway {

struct delivery_hook::impl {
  server& srv;
};

delivery_hook::delivery_hook(server& srv) : p_(std::make_unique<impl>(impl{srv})) {}
delivery_hook::~delivery_hook() = default;

void delivery_hook::start() {}
void delivery_hook::stop() {}

void delivery_hook::deliver_now(queue::queue_dir&, const std::string& qid) {
  spdlog::info("delivery deferred qid={} reason=\"no delivery scheduler in this build\"", qid);
}

std::string delivery_hook::run(queue::queue_dir& q, const std::vector<std::string>& ids) {
  return "queue run: delivery is not available in this build (" + q.path().string() + ", " +
         std::to_string(ids.size()) + " ids)\n";
}

}  // namespace mxg::gateway
