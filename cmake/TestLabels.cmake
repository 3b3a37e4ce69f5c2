# gtest_discover_tests hands its PROPERTIES to the discovery step on a command line that splits
# lists, so `LABELS "unit;attack"` would lose its second label. This gives every test of a
# discovered target several labels, once its tests are known (the <target>_TESTS list that the
# discovery step defines).
function(hopbox_test_labels target)
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}_labels.cmake")
  list(JOIN ARGN ";" labels)
  file(WRITE "${script}"
       "if(DEFINED ${target}_TESTS)\n"
       "  set_tests_properties(\${${target}_TESTS} PROPERTIES LABELS \"${labels}\")\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()

# The same for the tests of `target` whose names match `regex` only (attack tests that live
# beside others in one executable).
function(hopbox_test_labels_matching target regex)
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}_labels_matching.cmake")
  list(JOIN ARGN ";" labels)
  file(WRITE "${script}"
       "foreach(t IN LISTS ${target}_TESTS)\n"
       "  if(t MATCHES \"${regex}\")\n"
       "    set_tests_properties(\"\${t}\" PROPERTIES LABELS \"${labels}\")\n"
       "  endif()\n"
       "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()
