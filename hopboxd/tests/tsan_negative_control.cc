// The thread sanitizer's negative control: a race between two of our own threads, once through a
// plain store and once through memcpy (an interceptor). scripts/test.sh runs hopboxd's tests under
// TSan with suppressions and ignore_noninstrumented_modules; this proves those options still report
// a race in our code, so a quiet TSan run means something. ctest passes it only if TSan reports.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

namespace {

int shared_counter = 0;
char shared_buffer[64];

void race_on_a_store() {
  std::thread other([] { shared_counter += 1; });
  shared_counter += 2;
  other.join();
}

void race_through_memcpy(std::size_t size) {
  const char ones[sizeof shared_buffer] = {1, 1, 1, 1};
  std::thread other([size, &ones] { std::memcpy(shared_buffer, ones, size); });
  char copy[sizeof shared_buffer];
  std::memcpy(copy, shared_buffer, size);
  other.join();
  std::printf("%d\n", copy[0]);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode == "store") {
    race_on_a_store();
  } else if (mode == "memcpy") {
    // The size comes from outside so the copy stays a call to the intercepted memcpy.
    race_through_memcpy(std::strtoul(argc > 2 ? argv[2] : "64", nullptr, 10) % 65);
  } else {
    std::fprintf(stderr, "usage: tsan_negative_control store|memcpy [size]\n");
    return 2;
  }
  std::printf("no race reported\n");
  return 0;
}
