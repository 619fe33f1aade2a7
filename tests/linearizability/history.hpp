#pragma once

// A recorded history of reads and writes on registers (one per key), as the
// GCS integration test records it and `lincheck` reads it.
//
// File format: one operation per line, fields separated by blanks; blank
// lines and lines starting with '#' are ignored.
//
//   <client> <key> <kind> <value> <invoke> <complete>
//
//   client    unsigned integer naming the client (for messages only)
//   key       the register, any token without blanks
//   kind      `write` or `read`
//   value     the value written or read, any token without blanks; a read
//             that found the key absent has `-` (so no write may write `-`)
//   invoke    integer time the client sent the request
//   complete  integer time the client got the answer (not before invoke);
//             `?` if no answer came: the operation may or may not have taken
//             effect; `fail` if it is known not to have taken effect
//
// Every register starts absent. Times are in any unit (nanoseconds in the
// integration test) on one clock; an operation precedes another only if it
// completed strictly before the other was invoked.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace cafray::lincheck {

/// What an operation did.
enum class op_kind : uint8_t { read, write };

/// How an operation ended.
enum class outcome : uint8_t {
  ok,      // answered at `complete`
  unknown, // never answered: may have taken effect at any time after invoke
  failed,  // known not to have taken effect
};

/// One operation of a history.
struct operation {
  uint64_t client = 0;
  std::string key;
  op_kind kind = op_kind::read;
  /// The value written, or the value read; empty for a read of an absent
  /// key.
  std::optional<std::string> value;
  int64_t invoke = 0;
  /// Meaningful only for `outcome::ok`.
  int64_t complete = 0;
  outcome result = outcome::ok;
};

/// The operations of a run, in any order.
struct history {
  std::vector<operation> operations;
};

/// A history read from text, or why it could not be read.
struct parsed_history {
  history value;
  /// Empty on success; otherwise "line N: what is wrong".
  std::string error;
};

/// Reads the format described above.
parsed_history parse_history(std::istream& in);

/// Writes `h` in the format described above, one line per operation.
void write_history(std::ostream& out, const history& h);

/// One line of the format, without its newline.
std::string to_line(const operation& op);

/// A short description for reports: "client 3: write x := 5 [10, 20]".
std::string describe(const operation& op);

} // namespace cafray::lincheck
