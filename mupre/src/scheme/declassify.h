// Where a value computed from secrets becomes public by design (a capsule's blocks, a
// re-encryption key): said at that point, so that the constant-time check
// (mupre/tests/ct_check.cc, secrets tracked by valgrind's memcheck) stops tracking it there
// and nowhere else. Outside valgrind the request costs a few instructions and does nothing.
#pragma once

#include <cstddef>

#ifdef MUPRE_HAVE_MEMCHECK
#include <valgrind/memcheck.h>
#endif

namespace mupre::detail {

template <class T>
inline void declassify(const T& public_value) {
#ifdef MUPRE_HAVE_MEMCHECK
  VALGRIND_MAKE_MEM_DEFINED(&public_value, sizeof public_value);
#else
  (void)public_value;
#endif
}

}  // namespace mupre::detail
