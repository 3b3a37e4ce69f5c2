# gtest_discover_tests flattens list-valued PROPERTIES (LABELS "a;b" becomes LABELS a, b=...).
# hopbox_test_labels(target labels...) gives every test discovered from `target` all `labels`:
# a ctest include file that runs after the discovered list is loaded. Call it after
# gtest_discover_tests(target ...) in the same directory.
function(hopbox_test_labels target)
  set(file "${CMAKE_CURRENT_BINARY_DIR}/${target}_labels.cmake")
  string(JOIN ";" labels ${ARGN})
  file(WRITE "${file}"
       "if(DEFINED ${target}_TESTS)\n"
       "  set_tests_properties(\${${target}_TESTS} PROPERTIES LABELS \"${labels}\")\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${file}")
endfunction()
