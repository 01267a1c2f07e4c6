// For placehub's tests: a codec that allocates without bound.
function decodeUplink(input) { var s = [input.bytes]; for (;;) { s = s.concat(s); } }
