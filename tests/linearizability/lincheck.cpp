// lincheck FILE: reads a history (format in history.hpp; `-` reads stdin)
// and says whether it is linearizable, key by key.
//
// Exit status: 0 linearizable, 1 not linearizable, 2 unreadable input,
// 3 search budget exhausted.

#include <fstream>
#include <iostream>

#include "checker.hpp"
#include "history.hpp"

using namespace cafray::lincheck;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " HISTORY-FILE|-\n";
    return 2;
  }
  std::string path = argv[1];
  parsed_history parsed;
  if (path == "-") {
    parsed = parse_history(std::cin);
  } else {
    std::ifstream in{path};
    if (!in) {
      std::cerr << path << ": cannot open\n";
      return 2;
    }
    parsed = parse_history(in);
  }
  if (!parsed.error.empty()) {
    std::cerr << path << ": " << parsed.error << '\n';
    return 2;
  }
  auto result = check(parsed.value);
  switch (result.result) {
  case verdict::linearizable:
    std::cout << "linearizable: " << result.keys << " keys, "
              << result.operations << " ops\n";
    return 0;
  case verdict::violation:
    std::cout << "not linearizable: key " << result.key << '\n'
              << result.explanation << '\n';
    return 1;
  case verdict::inconclusive:
    std::cout << "inconclusive: key " << result.key << ": "
              << result.explanation << '\n';
    return 3;
  }
  return 3;
}
