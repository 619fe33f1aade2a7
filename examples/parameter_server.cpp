// The seed article's parameter server: an actor holding named weight
// vectors; workers push gradients and pull current values. Calls run one at
// a time in mailbox order, so no locks are needed.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cafray/cafray.hpp"

using keys_t = std::vector<std::string>;
using values_t = std::vector<std::vector<double>>;

class ParameterServer {
public:
  ParameterServer(keys_t keys, values_t values) {
    for (size_t i = 0; i < keys.size(); ++i)
      weights_[keys[i]] = values[i];
  }

  void push(keys_t keys, values_t values) {
    for (size_t i = 0; i < keys.size(); ++i) {
      auto& w = weights_[keys[i]];
      for (size_t j = 0; j < w.size() && j < values[i].size(); ++j)
        w[j] += values[i][j];
    }
  }

  values_t pull(keys_t keys) const {
    values_t result;
    for (auto& key : keys)
      result.push_back(weights_.at(key));
    return result;
  }

private:
  std::map<std::string, std::vector<double>> weights_;
};
CAFRAY_ACTOR(ParameterServer, keys_t, values_t);
CAFRAY_METHOD(ParameterServer, push);
CAFRAY_METHOD(ParameterServer, pull);

void print(const std::string& label, const keys_t& keys, const values_t& xs) {
  std::cout << label;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::cout << ' ' << keys[i] << "=[";
    for (size_t j = 0; j < xs[i].size(); ++j)
      std::cout << (j > 0 ? ", " : "") << xs[i][j];
    std::cout << ']';
  }
  std::cout << std::endl;
}

int main() {
  cafray::init();
  keys_t keys{"w1", "w2"};
  values_t initial{{1.0, 2.0, 3.0}, {10.0, 20.0}};
  values_t grads0{{0.5, 0.5, 0.5}, {1.0, 1.0}};
  values_t grads1{{0.25, 0.25, 0.25}, {2.0, 2.0}};
  auto ps = cafray::actor<ParameterServer>(keys, initial).remote();
  auto future0 = ps.call(&ParameterServer::push, keys, grads0);
  auto future1 = ps.call(&ParameterServer::push, keys, grads1);
  auto future2 = ps.call(&ParameterServer::pull, keys);
  cafray::get(future0);
  cafray::get(future1);
  print("initial:", keys, initial);
  print("pulled: ", keys, cafray::get(future2));
  cafray::shutdown();
  return 0; // also built as a code library, where main is renamed
}
