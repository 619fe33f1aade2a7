#pragma once

// Assertions shared by the chain tests.

#include <doctest/doctest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chain_network.hpp"

namespace cafray::test {

inline std::set<uint64_t> digests(chain_network& net,
                                  const std::vector<replica_id>& ids) {
  std::set<uint64_t> result;
  for (auto id : ids)
    result.insert(net.store(id).digest());
  return result;
}

/// The value a read returned; fails the test if it was refused.
inline std::optional<std::string> read_value(const delivery& answer) {
  auto reply = std::get_if<chain_read_reply>(&answer.envelope.payload);
  REQUIRE(reply != nullptr);
  return reply->value;
}

/// Why a request was refused; fails the test if it was not.
inline chain_refusal refusal(const delivery& answer) {
  auto refused = std::get_if<chain_refused>(&answer.envelope.payload);
  REQUIRE(refused != nullptr);
  return refused->reason;
}

/// Sends a read of `key` to the tail and returns what it got.
inline std::optional<std::string>
read_now(chain_network& net, chain_client_id client, const std::string& key) {
  auto request = net.read(client, key);
  net.run();
  auto answer = net.answer(client, request);
  REQUIRE(answer);
  return read_value(*answer);
}

} // namespace cafray::test
