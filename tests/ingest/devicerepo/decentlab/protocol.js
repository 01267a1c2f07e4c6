// Decentlab protocol v2, written for placehub's tests from Decentlab's published payload format:
// version byte (2), device id (uint16), sensor-present flags (uint16), then for each present
// sensor (lowest flag bit first) `length` big-endian uint16 words. SENSORS is set before this.

function u32(x, i) { return x[i] + x[i + 1] * 65536; }
function adc(x, i) { return u32(x, i || 0) / 8388608 - 1; }
function kl66(x, f0, k) { return (Math.pow(x[0] / x[1] * 32768, 2) - Math.pow(f0, 2)) * k / 1000000; }
function ptc_temperature(x, r) {
  var ratio = adc(x) / 2;
  var resistance = ratio * r / (1 - ratio);
  return -244.83 + 2.3419 * resistance + 0.0010664 * Math.pow(resistance, 2);
}
function trs_permittivity(x) {
  var v = x[0] / 10;
  return Math.pow(0.000000002887 * Math.pow(v, 3) - 0.0000208 * Math.pow(v, 2) + 0.05276 * v - 43.39, 2);
}

function word(bytes, at) { return (bytes[at] << 8) + bytes[at + 1]; }

function decodeUplink(input) {
  var bytes = input.bytes;
  if (bytes.length < 5) { return {errors: ['payload shorter than the protocol v2 header']}; }
  if (bytes[0] !== 2) { return {errors: ['protocol version ' + bytes[0] + " doesn't match v2"]}; }
  var data = {protocol_version: 2, device_id: word(bytes, 1)};
  var flags = word(bytes, 3);
  var at = 5;
  for (var i = 0; i < SENSORS.length; i++, flags >>= 1) {
    if ((flags & 1) !== 1) { continue; }
    var sensor = SENSORS[i];
    var x = [];
    for (var j = 0; j < sensor.length; j++, at += 2) {
      if (at + 1 >= bytes.length) { return {errors: ['payload too short for its sensor flags']}; }
      x.push(word(bytes, at));
    }
    for (j = 0; j < sensor.values.length; j++) {
      var value = sensor.values[j];
      var reading = {displayName: value.displayName, value: value.convert(x)};
      if (value.unit !== undefined) { reading.unit = value.unit; }
      data[value.name] = reading;
    }
  }
  return {data: data};
}
