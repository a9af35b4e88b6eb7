"""What a diagram says and what its code may do: the catalog read from the BPMN (forms, handler
topics, lanes, limits), form validation, the expression policy and sandbox, timer bounds, timer
start cycles and satisfaction questions. It imports storage and working time."""
