# Project-wide warning set; HOPBOX_WERROR turns them into errors (CI does).
function(hopbox_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wsign-conversion -Wnon-virtual-dtor -Wold-style-cast
                                           -Wcast-align -Wunused -Woverloaded-virtual
                                           -Wnull-dereference -Wdouble-promotion -Wformat=2)
  if(HOPBOX_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
