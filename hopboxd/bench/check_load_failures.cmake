# hopboxd_load must not report a run with failed downloads as a measurement: with the share
# revoked during each run, the downloads through it fail, and the tool exits 1 saying how many
# and why. A clean short run exits 0.   -DTOOL=hopboxd_load
execute_process(COMMAND "${TOOL}" --clients 2 --seconds 1.5 --revoke-share-after 0.3
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1)
  message(FATAL_ERROR "a run with a revoked share exited ${rc}, expected 1\n${out}${err}")
endif()
foreach(expected "downloads failed" "status 5")
  string(FIND "${err}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the failures were not named (\"${expected}\" missing)\n${err}")
  endif()
endforeach()
foreach(bad "nan" "inf")
  string(FIND "${out}" " ${bad}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "printed ${bad}\n${out}")
  endif()
endforeach()
execute_process(COMMAND "${TOOL}" --clients 2 --seconds 0.5 RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "a clean run exited ${rc}\n${out}${err}")
endif()
