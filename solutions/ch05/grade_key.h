/* grade_key.h - the grader's key, which only the harness's verdict lines carry
 *
 * Talk: asynchronous programming / event loop (how to test one without a stopwatch)
 * Under the grader, the test writes a fresh key into a file and names it in
 * WB_GRADE_KEY_FILE. grade_key.c reads it before main() runs, and so before
 * any code of the loop's, then deletes the file and unsets the variable: the
 * harness puts the key in front of each verdict line, and a line that the
 * loop prints itself, without it, does not count.
 *
 * This file and grade_key.c are given, as the harness is.
 */
#ifndef GRADE_KEY_H
#define GRADE_KEY_H

/* "[KEY] " to put in front of a verdict line under the grader; "" else. */
const char *grade_key(void);

#endif
