console.log(require("minimist")(process.argv.slice(2)));
