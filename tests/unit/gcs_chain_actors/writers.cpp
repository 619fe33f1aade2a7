#include "writers.hpp"

#include <random>

#include <caf/event_based_actor.hpp>

namespace cafray::test {

int64_t history_log::now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now() - start_)
    .count();
}

void history_log::add(lincheck::operation op) {
  std::lock_guard<std::mutex> guard{mtx_};
  history_.operations.push_back(std::move(op));
}

lincheck::history history_log::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return history_;
}

size_t history_log::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return history_.operations.size();
}

namespace {

struct writer_state {
  gcs_chain_client_actor client;
  writer_plan plan;
  std::shared_ptr<history_log> log;
  std::mt19937_64 rng;
  size_t done = 0;
};

void next(caf::event_based_actor* self, std::shared_ptr<writer_state> st) {
  if (st->done == st->plan.ops) {
    ++st->log->finished;
    self->quit();
    return;
  }
  auto index = st->done++;
  lincheck::operation op;
  op.client = st->plan.client;
  op.key = "key-" + std::to_string(st->rng() % st->plan.keys);
  op.kind = st->rng() % 4 == 0 ? lincheck::op_kind::read
                               : lincheck::op_kind::write;
  op.invoke = st->log->now();
  // The client retries for 10 s; past that the outcome is unknown.
  auto patience = std::chrono::seconds{30};
  if (op.kind == lincheck::op_kind::write) {
    op.value = "c" + std::to_string(st->plan.client) + "-"
               + std::to_string(index);
    self->request(st->client, patience, put_atom_v, uint8_t{0}, op.key,
                  *op.value)
      .then(
        [self, st, op](uint64_t) mutable {
          op.complete = st->log->now();
          ++st->log->writes_acked;
          st->log->add(std::move(op));
          next(self, st);
        },
        [self, st, op](caf::error&) mutable {
          op.result = lincheck::outcome::unknown;
          ++st->log->failures;
          st->log->add(std::move(op));
          next(self, st);
        });
  } else {
    self->request(st->client, patience, get_atom_v, uint8_t{0}, op.key)
      .then(
        [self, st, op](wire::chain_read_result& x) mutable {
          op.complete = st->log->now();
          if (x.found)
            op.value = x.value;
          st->log->add(std::move(op));
          next(self, st);
        },
        [self, st, op](caf::error&) mutable {
          op.result = lincheck::outcome::unknown;
          ++st->log->failures;
          st->log->add(std::move(op));
          next(self, st);
        });
  }
}

} // namespace

caf::actor spawn_writer(caf::actor_system& sys, gcs_chain_client_actor client,
                        writer_plan plan, std::shared_ptr<history_log> log) {
  return sys.spawn([client, plan, log](caf::event_based_actor* self) {
    auto st = std::make_shared<writer_state>();
    st->client = client;
    st->plan = plan;
    st->log = log;
    st->rng.seed(plan.seed);
    next(self, st);
    return caf::behavior{[](int) {}};
  });
}

} // namespace cafray::test
