#include "proto/register_types.hpp"

#include <caf/message.hpp>

#include "common/error.hpp"


namespace cafray {

const char* to_string(gcs_table x) {
  switch (x) {
    case gcs_table::nodes:
      return "nodes";
    case gcs_table::jobs:
      return "jobs";
    case gcs_table::functions:
      return "functions";
    case gcs_table::tasks:
      return "tasks";
    case gcs_table::objects:
      return "objects";
    case gcs_table::actors:
      return "actors";
    case gcs_table::errors:
      return "errors";
    case gcs_table::kv:
      return "kv";
    case gcs_table::actor_names:
      return "actor_names";
  }
  return "unknown";
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::cafray>();
  cfg.add_error_category(error_category,
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           auto x = static_cast<errc>(code);
                           std::string result = to_string(x);
                           result += ": ";
                           result += description(x);
                           if (!ctx.empty()) {
                             result += " ";
                             result += caf::to_string(ctx);
                           }
                           return result;
                         });
}

} // namespace cafray
