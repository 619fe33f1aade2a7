// Builds against an installed caf-ray only (no source tree on the include
// path): registering caf-ray's types on a CAF config must compile and link.

#include <cstdio>

#include <caf/actor_system_config.hpp>

#if __has_include(<cafray/cafray.hpp>)
#  include <cafray/cafray.hpp>
#endif
#include <cafray/proto/register_types.hpp>

int main() {
  caf::actor_system_config cfg;
  cafray::register_types(cfg);
  std::puts("ok");
  return 0;
}
