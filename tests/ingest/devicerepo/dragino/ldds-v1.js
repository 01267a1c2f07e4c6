// Dragino LDDS75 / LDDS20 before firmware 1.1.4, written for placehub's tests from Dragino's
// user manual: battery (mV, top two bits status) and distance (mm) in 4 bytes; fPort 2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) { return {errors: ['unknown FPort']}; }
  if (b.length !== 4 && b.length !== 5) { return {errors: ['payload must be 4 or 5 bytes']}; }
  return {data: {
    Bat: (((b[0] << 8) | b[1]) & 0x3FFF) / 1000,
    Distance: ((b[2] << 8) | b[3]) + ' mm'
  }};
}
