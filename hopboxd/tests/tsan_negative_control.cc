// The thread sanitizer's negative control: a race between two of our own threads. scripts/test.sh
// runs hopboxd's tests under TSan with suppressions and ignore_noninstrumented_modules; this shows
// that those options still report a race in our code, so a quiet TSan run means something. ctest
// passes it only if TSan reports. (A race through memcpy is not reported in this build yet: see
// docs/testing.md.)
#include <cstdio>
#include <thread>

namespace {

int shared_counter = 0;

}  // namespace

int main() {
  std::thread other([] { shared_counter += 1; });
  shared_counter += 2;
  other.join();
  std::printf("no race reported\n");
  return 0;
}
