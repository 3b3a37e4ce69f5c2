# The constant-time harness must catch a leak: the negative control branches on a secret, and
# memcheck must report it (its error exit code 3, naming the uninitialised-value jump).
execute_process(COMMAND "${VALGRIND}" --tool=memcheck --error-exitcode=3 --quiet
                        "${TOOL}" --negative-control
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${err}" "depends on uninitialised value" at)
if(NOT rc EQUAL 3 OR at EQUAL -1)
  message(FATAL_ERROR "the harness missed a secret-dependent branch (rc=${rc})\n${out}${err}")
endif()
